#ifndef KRONOS_UTIL_EDIT_DISTANCE_H
#define KRONOS_UTIL_EDIT_DISTANCE_H

#include <stddef.h>

/* Levenshtein distance of two short names, for "did you mean" hints; names of 128 bytes or more
 * count as far apart (SIZE_MAX). */
size_t edit_distance(const char *a, const char *b);

#endif
