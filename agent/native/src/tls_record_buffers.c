/*
 * keepTlsRecordBuffers(on) and tlsRecordBuffersKept(): OpenSSL's record buffers kept for the
 * life of a mesh mTLS connection instead of freed after every record (ADR 0020, "OpenSSL's record
 * buffers kept").
 *
 * Node's TLSWrap sets SSL_MODE_RELEASE_BUFFERS on every connection and offers no way to clear it:
 * OpenSSL then mallocs a ~17 KB buffer for each record it reads or writes and frees it right
 * after: six per request through a sidecar pair, 103 KB of malloc per request (1.6 KB on the
 * plaintext pair, 3 KB with the buffers kept), each a large request that makes glibc consolidate
 * its fast bins. Keeping the buffers is OpenSSL's own default; the cost is ~34 KB held per open
 * connection (a read and a write buffer).
 *
 * How, without a pointer to any SSL object (JS cannot hand one to an addon): while armed on this
 * thread (keepTlsRecordBuffers(true), then a synchronous tls.createSecureContext/createServer,
 * then keepTlsRecordBuffers(false)), every SSL_CTX that OpenSSL creates gets a message callback
 * (an SSL_CTX ex_data "new" hook sees each SSL_CTX as it is created). SSL_new copies that callback
 * into each connection of the context; at the connection's first TLS message, after TLSWrap has
 * set its mode, the callback clears SSL_MODE_RELEASE_BUFFERS and removes itself, so later records
 * never call it. Record layers created after that point (the handshake and application keys)
 * keep their buffers. Contexts created while not armed, on any thread, are untouched.
 *
 * The OpenSSL functions are looked up at run time in the process (Node exports its OpenSSL, or
 * links a shared one): where one is missing the hook is simply not installed and nothing changes,
 * and the addon's other functions still load. Only long-stable OpenSSL 1.1/3.x ABI is used
 * (SSL_ctrl codes, msg callback and ex_data signatures), no Node or V8 internals.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef void (*msg_callback_t)(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg);
typedef void (*ex_new_t)(void *parent, void *ptr, void *ad, int idx, long argl, void *argp);

/* <openssl/ssl.h> and <openssl/crypto.h>, unchanged since OpenSSL 1.0 */
#define OSSL_SSL_CTRL_MODE 33
#define OSSL_SSL_CTRL_CLEAR_MODE 78
#define OSSL_SSL_MODE_RELEASE_BUFFERS 0x10L
#define OSSL_CRYPTO_EX_INDEX_SSL_CTX 1

static long (*ssl_ctrl)(SSL *, int, long, void *);
static void (*ssl_set_msg_callback)(SSL *, msg_callback_t);
static void (*ssl_ctx_set_msg_callback)(SSL_CTX *, msg_callback_t);
static int (*crypto_get_ex_new_index)(int, long, void *, ex_new_t, void *, void *);

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int available;          /* the hook is registered */
static __thread int armed;     /* contexts created now on this thread get the hook */
static unsigned long kept;     /* connections whose buffers are kept (tests read it) */

/* A connection's first TLS message: from here on its record buffers stay allocated. */
static void on_first_message(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
  (void)write_p; (void)version; (void)content_type; (void)buf; (void)len; (void)arg;
  ssl_ctrl(ssl, OSSL_SSL_CTRL_CLEAR_MODE, OSSL_SSL_MODE_RELEASE_BUFFERS, NULL);
  ssl_set_msg_callback(ssl, NULL);
  /* SSL_CTRL_MODE with 0 sets nothing and returns the mode: count only a mode that did change */
  if ((ssl_ctrl(ssl, OSSL_SSL_CTRL_MODE, 0, NULL) & OSSL_SSL_MODE_RELEASE_BUFFERS) == 0) {
    __atomic_add_fetch(&kept, 1, __ATOMIC_RELAXED);
  }
}

/* Every new SSL_CTX in the process passes here; only those created while armed get the hook. */
static void on_new_context(void *parent, void *ptr, void *ad, int idx, long argl, void *argp) {
  (void)ptr; (void)ad; (void)idx; (void)argl; (void)argp;
  if (armed && parent != NULL) ssl_ctx_set_msg_callback((SSL_CTX *)parent, on_first_message);
}

static void setup(void) {
  ssl_ctrl = (long (*)(SSL *, int, long, void *))dlsym(RTLD_DEFAULT, "SSL_ctrl");
  ssl_set_msg_callback = (void (*)(SSL *, msg_callback_t))dlsym(RTLD_DEFAULT, "SSL_set_msg_callback");
  ssl_ctx_set_msg_callback = (void (*)(SSL_CTX *, msg_callback_t))dlsym(RTLD_DEFAULT, "SSL_CTX_set_msg_callback");
  crypto_get_ex_new_index = (int (*)(int, long, void *, ex_new_t, void *, void *))dlsym(RTLD_DEFAULT, "CRYPTO_get_ex_new_index");
  if (!ssl_ctrl || !ssl_set_msg_callback || !ssl_ctx_set_msg_callback || !crypto_get_ex_new_index) return;
  available = crypto_get_ex_new_index(OSSL_CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, on_new_context, NULL, NULL) >= 0;
}

/* keepTlsRecordBuffers(on: boolean) -> boolean: arms (or disarms) this thread; false when the
 * process's OpenSSL lacks what the hook needs (then arming does nothing). */
napi_value keep_tls_record_buffers(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  bool on = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "keepTlsRecordBuffers(on): on must be a boolean");
    return NULL;
  }
  pthread_once(&setup_once, setup);
  armed = available && on;
  napi_get_boolean(env, available, &result);
  return result;
}

/* tlsRecordBuffersKept() -> number: connections so far whose record buffers are kept. */
napi_value tls_record_buffers_kept(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_double(env, (double)__atomic_load_n(&kept, __ATOMIC_RELAXED), &result);
  return result;
}
