#ifndef KRONOS_SECURITY_APIKEYS_H
#define KRONOS_SECURITY_APIKEYS_H

#include <stddef.h>
#include <sys/stat.h>

/* API keys from KRONOS_API_KEYS_FILE: one `name:key` per line, `#` comments and blank lines
 * ignored, CR LF accepted. name is 1..64 of [A-Za-z0-9._-]; key is 16..256 printable ASCII
 * characters without spaces (it may contain ':', the line splits at the first one). Duplicate
 * names or keys are rejected. Error messages name the line and never contain key material. */
#define APIKEYS_NAME_MAX 64
#define APIKEYS_KEY_MIN 16
#define APIKEYS_KEY_MAX 256
#define APIKEYS_MAX_KEYS 1024
#define APIKEYS_FILE_MAX (1024 * 1024)

typedef struct apikeys apikeys;

/* Parses text (len bytes, NUL bytes rejected). Returns 0 and a set with at least one key, or -1
 * with a message in err. */
int apikeys_parse(const char *text, size_t len, apikeys **out, char *err, size_t errlen);

/* A keys file that other users may read or change, or that its group may change, is refused
 * (chmod 600). Group read is accepted, for a secret shared with the service through its group
 * (Kubernetes fsGroup); the caller should warn about it (apikeys_file_mode). */
#define APIKEYS_MODE_REFUSED (S_IWGRP | S_IROTH | S_IWOTH)

/* Reads and parses a file; messages are prefixed with the path. */
int apikeys_load_file(const char *path, apikeys **out, char *err, size_t errlen);

/* Permission bits (e.g. 0640) of the file the keys were read from; 0 for apikeys_parse(). */
unsigned apikeys_file_mode(const apikeys *k);

/* Wipes the keys from memory and frees the set; NULL is fine. */
void apikeys_free(apikeys *k);

size_t apikeys_count(const apikeys *k);
const char *apikeys_name_at(const apikeys *k, size_t i);

/* The name of the key equal to key[0..keylen), or NULL. Every configured key is compared over
 * its full padded length whatever matches, so the time taken tells nothing about which bytes
 * of which key were right. Only a key longer than APIKEYS_KEY_MAX returns early. */
const char *apikeys_lookup(const apikeys *k, const char *key, size_t keylen);

#endif
