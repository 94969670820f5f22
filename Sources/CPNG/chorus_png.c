#include "chorus_png.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const uint8_t *data;
  size_t size;
  size_t offset;
  char *error;
  size_t error_size;
  jmp_buf jump;
} reader_state;

static void on_error(png_structp png, png_const_charp message) {
  reader_state *state = png_get_error_ptr(png);
  snprintf(state->error, state->error_size, "%s", message);
  longjmp(state->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void on_read(png_structp png, png_bytep out, png_size_t length) {
  reader_state *state = png_get_io_ptr(png);
  if (state->size - state->offset < length) png_error(png, "the file ends early (truncated PNG)");
  memcpy(out, state->data + state->offset, length);
  state->offset += length;
}

// Creates the reader with our I/O and error hooks; NULL (and `error` filled) when out of memory.
static png_structp open_reader(reader_state *state, png_infop *info) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, on_error, on_warning);
  if (png) *info = png_create_info_struct(png);
  if (!png || !*info) {
    png_destroy_read_struct(&png, NULL, NULL);
    snprintf(state->error, state->error_size, "out of memory");
    return NULL;
  }
  png_set_read_fn(png, state, on_read);
  png_set_chunk_malloc_max(png, 64u << 20);  // ancillary chunks; pixel memory is bounded by the caller's limit
  return png;
}

int chorus_png_read_info(const uint8_t *data, size_t size, chorus_png_info *out, char *error, size_t error_size) {
  reader_state state = {data, size, 0, error, error_size};
  png_infop info = NULL;
  png_structp png = open_reader(&state, &info);
  if (!png) return -1;
  if (setjmp(state.jump)) {
    png_destroy_read_struct(&png, &info, NULL);
    return -1;
  }
  png_read_info(png, info);
  out->width = png_get_image_width(png, info);
  out->height = png_get_image_height(png, info);
  png_destroy_read_struct(&png, &info, NULL);
  return 0;
}

int chorus_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb, size_t rgb_size, char *error, size_t error_size) {
  reader_state state = {data, size, 0, error, error_size};
  png_infop info = NULL;
  png_structp png = open_reader(&state, &info);
  if (!png) return -1;
  png_bytep *volatile rows = NULL;
  uint8_t *volatile scratch = NULL;
  if (setjmp(state.jump)) {
    free(rows);
    free(scratch);
    png_destroy_read_struct(&png, &info, NULL);
    return -1;
  }
  png_read_info(png, info);
  png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  if ((size_t)width * height * 3 != rgb_size) png_error(png, "output buffer does not match the image size");
  int gray16 = png_get_color_type(png, info) == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) == 16;

  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_alpha(png);  // also the alpha a palette's tRNS expands to: Pillow's convert("RGB") drops it
  if (gray16) {
    png_set_swap(png);  // little-endian 16-bit gray, clipped below
  } else {
    png_set_strip_16(png);
    png_set_gray_to_rgb(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  size_t row_bytes = png_get_rowbytes(png, info);
  uint8_t *target = rgb;
  if (gray16) {
    target = scratch = malloc(row_bytes * height);
    if (!scratch) png_error(png, "out of memory");
  } else if (row_bytes != (size_t)width * 3) {
    png_error(png, "unexpected row layout after conversion");
  }
  rows = malloc(sizeof(png_bytep) * height);
  if (!rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < height; y++) rows[y] = target + y * row_bytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);

  if (gray16) {
    for (png_uint_32 y = 0; y < height; y++) {
      const uint8_t *in = scratch + y * row_bytes;
      uint8_t *out = rgb + (size_t)y * width * 3;
      for (png_uint_32 x = 0; x < width; x++, in += 2, out += 3) {
        unsigned sample = in[0] | (in[1] << 8);
        out[0] = out[1] = out[2] = sample > 255 ? 255 : (uint8_t)sample;
      }
    }
  }
  free(rows);
  free(scratch);
  png_destroy_read_struct(&png, &info, NULL);
  return 0;
}
