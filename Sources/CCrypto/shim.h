// OpenSSL's libcrypto (Debian libssl-dev): SHA-256 for fingerprints and cache keys.
#include <openssl/evp.h>
