/* OpenSSL's record buffers kept for mesh mTLS connections (tls_record_buffers.c). */
#ifndef MESHLET_TLS_RECORD_BUFFERS_H
#define MESHLET_TLS_RECORD_BUFFERS_H
#include <node_api.h>

napi_value keep_tls_record_buffers(napi_env env, napi_callback_info info);
napi_value tls_record_buffers_kept(napi_env env, napi_callback_info info);

#endif
