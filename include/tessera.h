/*
 * tessera.h: the whole public API of libtessera. Include this, or only the
 * area headers under tessera/ that you use.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include "tessera/alg.h"
#include "tessera/base64url.h"
#include "tessera/common.h"
#include "tessera/key.h"
#include "tessera/sign.h"
#include "tessera/verify.h"

#endif /* TESSERA_H */
