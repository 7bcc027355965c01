"""GPT-Live in the emulator: ``/v1/live/sessions``, its data-channel protocol and the sideband.

:mod:`.validation` checks what clients send, :mod:`.resource` keeps the session object,
:mod:`.session` runs one session's protocol inside an emulator call, :mod:`.backend` is the
Responses backend turns are delegated to, and :mod:`.routes` is the HTTP front.
"""
