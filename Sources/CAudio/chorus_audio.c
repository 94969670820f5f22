#include "chorus_audio.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chorus_audio {
  SNDFILE *file;
  SF_INFO info;
  const unsigned char *bytes;
  sf_count_t size;
  sf_count_t position;
  char format_name[64];
};

static sf_count_t get_length(void *user) { return ((struct chorus_audio *)user)->size; }

static sf_count_t seek(sf_count_t offset, int whence, void *user) {
  struct chorus_audio *a = user;
  sf_count_t target = whence == SEEK_SET ? offset : whence == SEEK_CUR ? a->position + offset : a->size + offset;
  if (target < 0 || target > a->size) return -1;
  a->position = target;
  return target;
}

static sf_count_t read_bytes(void *out, sf_count_t count, void *user) {
  struct chorus_audio *a = user;
  sf_count_t left = a->size - a->position;
  if (count > left) count = left;
  if (count > 0) memcpy(out, a->bytes + a->position, (size_t)count);
  a->position += count;
  return count;
}

static sf_count_t write_bytes(const void *in, sf_count_t count, void *user) {
  (void)in, (void)count, (void)user;
  return 0;
}

static sf_count_t tell(void *user) { return ((struct chorus_audio *)user)->position; }

chorus_audio *chorus_audio_open(const void *bytes, size_t size, char *error, size_t error_size) {
  struct chorus_audio *a = calloc(1, sizeof *a);
  if (!a) {
    snprintf(error, error_size, "out of memory");
    return NULL;
  }
  a->bytes = bytes;
  a->size = (sf_count_t)size;
  SF_VIRTUAL_IO io = {get_length, seek, read_bytes, write_bytes, tell};
  a->file = sf_open_virtual(&io, SFM_READ, &a->info, a);
  if (!a->file) {
    snprintf(error, error_size, "%s", sf_strerror(NULL));
    free(a);
    return NULL;
  }
  SF_FORMAT_INFO format = {.format = a->info.format & SF_FORMAT_TYPEMASK};
  if (sf_command(NULL, SFC_GET_FORMAT_INFO, &format, sizeof format) == 0 && format.name)
    snprintf(a->format_name, sizeof a->format_name, "%s", format.name);
  else
    snprintf(a->format_name, sizeof a->format_name, "format 0x%x", format.format);
  return a;
}

void chorus_audio_rebind(chorus_audio *a, const void *bytes) { a->bytes = bytes; }

int chorus_audio_channels(const chorus_audio *a) { return a->info.channels; }
int chorus_audio_sample_rate(const chorus_audio *a) { return a->info.samplerate; }
int64_t chorus_audio_frames(const chorus_audio *a) { return a->info.frames; }
int chorus_audio_format(const chorus_audio *a) { return a->info.format & SF_FORMAT_TYPEMASK; }
const char *chorus_audio_format_name(const chorus_audio *a) { return a->format_name; }

int64_t chorus_audio_read_mono(chorus_audio *a, float *out, int64_t frames, float *scratch, char *error, size_t error_size) {
  int channels = a->info.channels;
  sf_count_t got = sf_readf_float(a->file, channels == 1 ? out : scratch, frames);
  if (got < 0 || (got == 0 && sf_error(a->file) != SF_ERR_NO_ERROR)) {
    snprintf(error, error_size, "%s", sf_strerror(a->file));
    return -1;
  }
  if (channels > 1) {
    for (sf_count_t i = 0; i < got; i++) {
      float sum = 0;
      for (int c = 0; c < channels; c++) sum += scratch[i * channels + c];
      out[i] = sum / (float)channels;
    }
  }
  return got;
}

void chorus_audio_close(chorus_audio *a) {
  if (!a) return;
  sf_close(a->file);
  free(a);
}
