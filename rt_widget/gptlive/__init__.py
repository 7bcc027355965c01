"""GPT-Live: OpenAI's voice API beside Realtime (``/v1/live/sessions``).

Nothing is imported here, so that ``import rt_widget`` stays light; use the submodules, e.g.
``from rt_widget.gptlive.config import LiveConfig``.
"""
