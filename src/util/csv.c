#include "util/csv.h"

#include <ctype.h>
#include <string.h>

char *csv_next(char *list, char **save)
{
    for (char *tok = strtok_r(*save ? NULL : list, ",", save); tok;
         tok = strtok_r(NULL, ",", save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (*tok)
            return tok;
    }
    return NULL;
}
