/* libsd_native.so is the core archive linked whole; this translation unit only gives the target a source. */
#include "../../include/sd_native.h"
