// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, which puts cblas.h on the default include path).
#include <cblas.h>
