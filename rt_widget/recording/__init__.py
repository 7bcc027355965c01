"""Recordings: both sides of a call's audio on the events' clock, saved with the log."""

from .recorder import Recorder
from .store import Recording, load
from .track import RATE, TRACKS, Track

__all__ = ["RATE", "TRACKS", "Recorder", "Recording", "Track", "load"]
