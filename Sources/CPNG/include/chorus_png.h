// A setjmp-guarded PNG reader over libpng (Debian: libpng-dev). libpng reports errors by longjmp, which Swift
// cannot catch, so the whole read happens in C and comes back as a status and a message.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t width;
  uint32_t height;
} chorus_png_info;

/// Reads the header only. Returns 0, or -1 with `error` filled.
int chorus_png_read_info(const uint8_t *data, size_t size, chorus_png_info *info, char *error, size_t error_size);

/// Decodes to 8-bit RGB into `rgb`, width * height * 3 bytes, as Pillow's `Image.open(f).convert("RGB")` gives it:
/// 16-bit samples keep their high byte ("RGB;16B"), except 16-bit gray without alpha, whose values clip at 255
/// (Pillow's "I;16" to RGB); palettes and low bit depths expand; gray is replicated; alpha is dropped, not
/// composited. Returns 0, or -1 with `error` filled (corrupt data, bad CRC, truncated file).
int chorus_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb, size_t rgb_size, char *error, size_t error_size);
