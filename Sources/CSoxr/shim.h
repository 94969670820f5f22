// libsoxr (Debian libsoxr-dev): the resampler librosa uses by default ("soxr_hq").
#include <soxr.h>
