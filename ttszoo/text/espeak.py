"""A small ctypes binding to libespeak-ng from the ``espeakng-loader`` wheel.

Two uses: IPA phonemes for the phoneme symbol set (``text_to_phonemes``) and speech for the
offline demo corpus (``synthesize``). The library holds global state, so every call goes
through one process-wide, lock-protected handle. No apt package and no download is needed:
the wheel carries the shared library and its data folder.
"""

import ctypes
import threading

import numpy as np

from ttszoo.errors import InvalidInputError, TTSZooError

AUDIO_OUTPUT_SYNCHRONOUS = 2
CHARS_UTF8 = 1
PHONEMES_IPA = 0x02
POSITION_CHARACTER = 1
PARAMETER_RATE = 1
PARAMETER_PITCH = 3
SAMPLE_RATE = 22050
_PHONEME_SEPARATOR = "_"  # between phonemes in espeak_TextToPhonemes' bits 8-23

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class ESpeakUnavailableError(TTSZooError, ImportError):
    """libespeak-ng could not be loaded (the ``espeakng-loader`` wheel is missing)."""


class _ESpeak:
    def __init__(self):
        try:
            import espeakng_loader
        except ImportError as error:
            raise ESpeakUnavailableError(
                "Phonemes and the demo corpus need libespeak-ng from the espeakng-loader wheel: "
                "pip install 'ttszoo[demo]' (or pip install espeakng-loader)."
            ) from error
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        data_path = espeakng_loader.get_data_path().encode()
        rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)
        if rate != SAMPLE_RATE:
            raise RuntimeError(f"libespeak-ng failed to initialise (returned {rate}).")
        self.lock = threading.Lock()
        self.chunks = []
        self.callback = _SYNTH_CALLBACK(self._collect)
        self.lib.espeak_SetSynthCallback(self.callback)

    def _collect(self, samples, count, _events):
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    def set_voice(self, voice):
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InvalidInputError(f"eSpeak NG has no voice {voice!r} (try 'en-us' or 'en').")


_HANDLE = None
_HANDLE_LOCK = threading.Lock()


def _handle():
    global _HANDLE
    with _HANDLE_LOCK:
        if _HANDLE is None:
            _HANDLE = _ESpeak()
        return _HANDLE


def _phonemize(text, voice, mode):
    espeak = _handle()
    with espeak.lock:
        espeak.set_voice(voice)
        buffer = ctypes.c_char_p(text.encode("utf-8"))
        pointer = ctypes.pointer(buffer)
        clauses = []
        while buffer.value:
            phonemes = espeak.lib.espeak_TextToPhonemes(pointer, CHARS_UTF8, mode)
            if phonemes:
                clauses.append(phonemes.decode("utf-8").strip())
    return [clause for clause in clauses if clause]


def text_to_phonemes(text, voice="en-us"):
    """IPA phonemes of ``text`` (punctuation is dropped by eSpeak; clauses joined by spaces)."""
    return " ".join(_phonemize(text, voice, PHONEMES_IPA))


def text_to_phoneme_words(text, voice="en-us"):
    """``text`` as words of separate IPA phonemes, without stress marks.

    Returns:
      list of clauses, each a list of words, each a list of phonemes (``"tʃ"``, ``"aɪ"``,
      ``"ɑː"``: eSpeak's own phoneme units, so a diphthong is one phoneme).
    """
    separated = _phonemize(text, voice, PHONEMES_IPA | (ord(_PHONEME_SEPARATOR) << 8))
    return [
        [
            [phoneme for phoneme in word.replace("ˈ", "").replace("ˌ", "").split("_") if phoneme]
            for word in clause.split()
        ]
        for clause in separated
    ]


def synthesize(text, voice="en-us", words_per_minute=165, pitch=50):
    """Speaks ``text`` synchronously; returns int16 samples ``[num_samples]`` at 22050 Hz.

    Deterministic: the same text and settings give the same samples.
    """
    espeak = _handle()
    encoded = text.encode("utf-8") + b"\0"
    with espeak.lock:
        espeak.set_voice(voice)
        espeak.lib.espeak_SetParameter(PARAMETER_RATE, int(words_per_minute), 0)
        espeak.lib.espeak_SetParameter(PARAMETER_PITCH, int(pitch), 0)
        espeak.chunks = []
        status = espeak.lib.espeak_Synth(
            encoded, len(encoded), 0, POSITION_CHARACTER, 0, CHARS_UTF8, None, None
        )
        if status != 0:
            raise RuntimeError(f"eSpeak NG failed to speak {text!r} (error {status}).")
        chunks, espeak.chunks = espeak.chunks, []
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
