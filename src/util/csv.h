#ifndef KRONOS_CSV_H
#define KRONOS_CSV_H

/* Walks a comma-separated list in place (the string is modified): each call returns the next
 * item with surrounding whitespace removed, skipping empty items, or NULL at the end. *save must
 * start as NULL. */
char *csv_next(char *list, char **save);

#endif
