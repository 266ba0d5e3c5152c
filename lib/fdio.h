/* fdio.h — writing a whole buffer to a blocking file descriptor. */
#ifndef PLLM_FDIO_H
#define PLLM_FDIO_H
#include <stddef.h>

/* All n bytes, retried on EINTR and short writes; -1 (errno set) on error. */
int fd_write_all(int fd, const void *p, size_t n);

#endif
