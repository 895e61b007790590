/*
 * meshlet_native: the one thing Node cannot do itself for a transparent sidecar, reading the
 * destination a connection had before iptables REDIRECT rewrote it (SO_ORIGINAL_DST for IPv4,
 * IP6T_SO_ORIGINAL_DST for IPv6). Plain C over N-API (ABI-stable), so one build works on every
 * Node version that has N-API 8, whatever headers node-gyp found. Also releaseFreeMemory(),
 * glibc's malloc_trim, which Node does not expose either (see below).
 */
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* The values from <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>; defined
 * here because the ip6_tables header does not compile cleanly in user space on every libc. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static const char *errno_code(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";           /* no conntrack entry: the socket was not NATed */
    case ENOPROTOOPT: return "ENOPROTOOPT"; /* conntrack / nf_nat not available */
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: return "EUNKNOWN";
  }
}

/* Throws an Error with `code` (errno name) and `errno` (number) like Node's own system errors. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  napi_value code, msg, error, num, syscall;
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "syscall", syscall);
  napi_throw(env, error);
  return NULL;
}

static napi_value make_result(napi_env env, const char *address, int port, const char *family) {
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, result, "address", v);
  napi_create_int32(env, port, &v);
  napi_set_named_property(env, result, "port", v);
  napi_create_string_utf8(env, family, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, result, "family", v);
  return result;
}

static napi_value original_dst_v4(napi_env env, int fd) {
  struct sockaddr_in dst;
  socklen_t len = sizeof dst;
  char text[INET_ADDRSTRLEN];
  memset(&dst, 0, sizeof dst);
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) {
    return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
  }
  inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
  return make_result(env, text, ntohs(dst.sin_port), "IPv4");
}

static napi_value original_dst_v6(napi_env env, int fd) {
  struct sockaddr_in6 dst;
  socklen_t len = sizeof dst;
  char text[INET6_ADDRSTRLEN];
  memset(&dst, 0, sizeof dst);
  if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst, &len) != 0) {
    return throw_errno(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", errno);
  }
  inet_ntop(AF_INET6, &dst.sin6_addr, text, sizeof text);
  return make_result(env, text, ntohs(dst.sin6_port), "IPv6");
}

/* getOriginalDestination(fd: number): { address, port, family: 'IPv4' | 'IPv6' } */
static napi_value get_original_destination(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  struct sockaddr_storage local;
  socklen_t len = sizeof local;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "getOriginalDestination(fd): fd must be a number");
    return NULL;
  }
  if (fd < 0) return throw_errno(env, "getOriginalDestination", EBADF);
  /* The socket's own family decides which table conntrack looked the tuple up in. A dual-stack
   * listener (`::`) accepts IPv4 peers as AF_INET6 sockets with v4-mapped addresses; their
   * connection was NATed by iptables (IPv4), so they are asked with SOL_IP. */
  if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) {
    return throw_errno(env, "getsockname", errno);
  }
  if (local.ss_family == AF_INET) return original_dst_v4(env, fd);
  if (local.ss_family == AF_INET6) {
    const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)&local;
    if (IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr)) return original_dst_v4(env, fd);
    return original_dst_v6(env, fd);
  }
  return throw_errno(env, "getOriginalDestination", EAFNOSUPPORT);
}

/* releaseFreeMemory() -> boolean: glibc's malloc_trim(0), which returns the free pages of every
 * malloc arena to the kernel (ADR 0012). glibc keeps what a big table's start freed (the posted
 * table's structured-clone buffers, the translation worker's compile zones): ~20 MB resident in
 * an idle 10 000-route agent that nothing will reuse, and Node has no call for it. True when
 * glibc gave memory back; false when there was none to give, or on another libc (no call). */
static napi_value release_free_memory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) == 1, &result);
#else
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "getOriginalDestination", NAPI_AUTO_LENGTH, get_original_destination, NULL, &fn);
  napi_set_named_property(env, exports, "getOriginalDestination", fn);
  napi_create_function(env, "releaseFreeMemory", NAPI_AUTO_LENGTH, release_free_memory, NULL, &fn);
  napi_set_named_property(env, exports, "releaseFreeMemory", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
