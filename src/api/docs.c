/* GET /openapi.json, /docs (Swagger UI) and /redoc. The document is src/api/openapi.json, the
 * API contract, compiled in (cmake/embed_file.cmake); it is served with info.version set to the
 * running build. The pages load their assets from KRONOS_DOCS_ASSETS_URL, laid out as the CDN
 * FastAPI uses: <base>/swagger-ui-dist@5/... and <base>/redoc@2/bundles/... */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/app.h"
#include "api/handlers.h"
#include "http/response.h"
#include "version.h"

extern const char kronos_openapi_json[];
extern const size_t kronos_openapi_json_len;

#define CT_HTML "text/html; charset=utf-8"

static pthread_once_t doc_once = PTHREAD_ONCE_INIT;
static char *doc_text; /* the served document; NULL when it could not be built */
static size_t doc_len;

static void build_doc(void)
{
    json_t *doc = json_loadb(kronos_openapi_json, kronos_openapi_json_len, 0, NULL);
    json_t *info = json_object_get(doc, "info");
    if (info)
        json_object_set_new(info, "version", json_string(KRONOS_VERSION));
    doc_text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    doc_len = doc_text ? strlen(doc_text) : 0;
    json_decref(doc);
}

http_result handle_openapi(http_request *r)
{
    pthread_once(&doc_once, build_doc);
    if (!doc_text)
        return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                                  "the OpenAPI document is unavailable", NULL, NULL, 0);
    return http_respond(r, HTTP_STATUS_OK, CT_JSON, doc_text, doc_len, false, NULL, 0);
}

/* The base URL without a trailing slash; the config checked it holds no quote or '<'. */
static int base_len(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return (int)n;
}

static http_result respond_page(http_request *r, int len, char *page)
{
    if (len < 0 || !page) {
        free(page);
        return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                                  "out of memory", NULL, NULL, 0);
    }
    return http_respond(r, HTTP_STATUS_OK, CT_HTML, page, (size_t)len, true, NULL, 0);
}

/* The page FastAPI's get_swagger_ui_html writes; the document is fetched relative to the page
 * so that a path prefix added by a proxy keeps working. */
http_result handle_docs(http_request *r)
{
    const char *base = app_of(r)->cfg->docs_assets_url;
    int n = base_len(base);
    char *page = NULL;
    int len = asprintf(
        &page,
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
        "<link type=\"text/css\" rel=\"stylesheet\" "
        "href=\"%.*s/swagger-ui-dist@5/swagger-ui.css\">\n"
        "<title>%s - Swagger UI</title>\n</head>\n<body>\n<div id=\"swagger-ui\"></div>\n"
        "<script src=\"%.*s/swagger-ui-dist@5/swagger-ui-bundle.js\"></script>\n"
        "<script>\nconst ui = SwaggerUIBundle({\n  url: 'openapi.json',\n"
        "  dom_id: '#swagger-ui',\n  layout: 'BaseLayout',\n  deepLinking: true,\n"
        "  showExtensions: true,\n  showCommonExtensions: true,\n"
        "  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],\n"
        "});\n</script>\n</body>\n</html>\n",
        n, base, KRONOS_APP_NAME, n, base);
    return respond_page(r, len, len < 0 ? NULL : page);
}

http_result handle_redoc(http_request *r)
{
    const char *base = app_of(r)->cfg->docs_assets_url;
    int n = base_len(base);
    char *page = NULL;
    int len = asprintf(
        &page,
        "<!DOCTYPE html>\n<html>\n<head>\n<title>%s - ReDoc</title>\n<meta charset=\"utf-8\"/>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<style>body { margin: 0; padding: 0; }</style>\n</head>\n<body>\n"
        "<noscript>ReDoc requires Javascript to function. Please enable it to browse the "
        "documentation.</noscript>\n<redoc spec-url=\"openapi.json\"></redoc>\n"
        "<script src=\"%.*s/redoc@2/bundles/redoc.standalone.js\"></script>\n</body>\n</html>\n",
        KRONOS_APP_NAME, n, base);
    return respond_page(r, len, len < 0 ? NULL : page);
}
