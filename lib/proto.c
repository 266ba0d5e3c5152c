/* proto.c — which API dialect a request speaks (see proto.h). */
#include "proto.h"

#include <string.h>

int proto_of_path(const char *path, int has_anthropic_header)
{
    if (strstr(path, "/v1/messages") || strstr(path, "/v1/complete") ||
        !strncmp(path, "/anthropic/", 11))
        return PROTO_ANTHROPIC;
    if (strstr(path, "/v1/chat/") || strstr(path, "/v1/completions") ||
        strstr(path, "/v1/embeddings") || strstr(path, "/v1/responses") ||
        !strncmp(path, "/openai/", 8))
        return PROTO_OPENAI;
    return has_anthropic_header ? PROTO_ANTHROPIC : PROTO_OPENAI;
}
