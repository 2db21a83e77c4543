#include <stdio.h>

#include "version.h"

int main(void)
{
    printf("kronosd %s\n", KRONOS_VERSION);
    return 0;
}
