// A setjmp-guarded PNG reader over libpng (Debian: libpng-dev). libpng reports errors by longjmp, which Swift
// cannot catch, so the whole read happens in C and comes back as a status and a message.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t width;
  uint32_t height;
  /// The file has an alpha channel or a tRNS chunk (transparency to composite).
  int has_alpha;
} chorus_png_info;

/// Reads the header only. Returns 0, or -1 with `error` filled.
int chorus_png_read_info(const uint8_t *data, size_t size, chorus_png_info *info, char *error, size_t error_size);

/// Decodes to 8-bit RGBA (alpha 255 where the file has none) into `rgba`, width * height * 4 bytes, with Pillow's
/// sample conversions: 16-bit samples keep their high byte ("RGB;16B"), except 16-bit gray without alpha, whose
/// values clip at 255 (Pillow's "I;16" to RGB); palettes, tRNS and low bit depths expand; gray is replicated.
/// Returns 0, or -1 with `error` filled (corrupt data, bad CRC, truncated file).
int chorus_png_decode_rgba(const uint8_t *data, size_t size, uint8_t *rgba, size_t rgba_size, char *error, size_t error_size);
