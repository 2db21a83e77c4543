#include "engine/engine.h"

#include <stdlib.h>

void engine_forecast_free(engine_forecast *f)
{
    if (!f)
        return;
    free(f->mean);
    free(f->samples);
    f->mean = NULL;
    f->samples = NULL;
}
