// The prefetch is a static inline function in the header; SwiftPM needs one source file.
#include "kura_prefetch.h"
