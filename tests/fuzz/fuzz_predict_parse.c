/* libFuzzer target: the prediction request parser must never crash, leak or answer other than
 * OK/400/422 whatever bytes arrive, on both routes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/predict_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    predict_limits lim = {
        .max_candles = 2048, .max_pred_len = 512, .max_batch_items = 64, .max_sample_count = 16};
    predict_defaults def = {.temperature = 1.0, .top_p = 0.9, .sample_count = 1};
    for (int batch = 0; batch < 2; batch++) {
        predict_request req;
        predict_error err;
        predict_error_init(&err);
        int rc = predict_parse((const char *)data, size, batch, &lim, &def, &req, &err);
        if (rc == PREDICT_OK)
            predict_request_free(&req);
        else if (rc != PREDICT_BAD_REQUEST && rc != PREDICT_INVALID)
            abort();
        predict_error_clear(&err);
    }
    return 0;
}
