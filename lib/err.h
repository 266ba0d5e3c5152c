/* err.h — exit codes and error values shared by every program.
 * lib/ never prints and never exits: functions return one of these (or -1)
 * and fill an error text buffer when they take one. */
#ifndef PLLM_ERR_H
#define PLLM_ERR_H

#define EXIT_OK     0   /* success */
#define EXIT_NO     1   /* a normal "no": limited, nothing to export */
#define EXIT_USAGE  100 /* usage error or permanently bad input */
#define EXIT_TEMP   111 /* temporary or system failure */

#define ERRBUF_SIZE 512 /* size of the error text buffers passed to lib/ */

#endif
