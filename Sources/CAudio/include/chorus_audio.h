// libsndfile (Debian libsndfile1-dev) reading encoded audio from memory through its virtual I/O: C callbacks
// over a byte buffer, which are simpler and safer written in C than as Swift closures.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct chorus_audio chorus_audio;

/// Opens encoded bytes (WAV, FLAC, Ogg Vorbis/Opus, MP3, … whatever this libsndfile reads). The handle keeps
/// reading from `bytes`: call chorus_audio_rebind before each read when the caller's pointer is only valid for a
/// while (Swift's Data.withUnsafeBytes). NULL and libsndfile's message when it cannot read them.
chorus_audio *chorus_audio_open(const void *bytes, size_t size, char *error, size_t error_size);

/// Points the handle at the same bytes, now at `bytes` (their size and the read position stay).
void chorus_audio_rebind(chorus_audio *audio, const void *bytes);

int chorus_audio_channels(const chorus_audio *audio);
int chorus_audio_sample_rate(const chorus_audio *audio);
/// Frames the header announces (may be an estimate for MP3, or huge for a lying header).
int64_t chorus_audio_frames(const chorus_audio *audio);
/// libsndfile's major format (SF_FORMAT_WAV, …) and its name.
int chorus_audio_format(const chorus_audio *audio);
const char *chorus_audio_format_name(const chorus_audio *audio);

/// Reads up to `frames` frames as floats in [-1, 1], channels averaged to mono (as librosa's `to_mono`), into
/// `out`; `scratch` holds frames·channels floats. Returns frames read (0 at the end), or -1 on a decoding
/// error (message in `error`).
int64_t chorus_audio_read_mono(chorus_audio *audio, float *out, int64_t frames, float *scratch, char *error, size_t error_size);

void chorus_audio_close(chorus_audio *audio);
