// FFTW, single precision (Debian libfftw3-dev): the FFTs of the mel front ends.
#include <fftw3.h>
