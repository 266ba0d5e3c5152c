/* mock-upstream: the Content-Encodings it can send (gzip, br, zstd), for
 * a whole body at once or a stream flushed after every event, so that a
 * client can decode each event as it arrives. */
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <brotli/encode.h>
#include "mock.h"

const char *enc_name(int kind)
{
	switch (kind) {
	case ENC_GZIP: return "gzip";
	case ENC_BR: return "br";
	case ENC_ZSTD: return "zstd";
	default: return NULL;
	}
}

bool enc_begin(struct enc *e, int kind)
{
	memset(e, 0, sizeof *e);
	e->kind = kind;
	switch (kind) {
	case ENC_GZIP:
		e->on = deflateInit2(&e->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
				     Z_DEFAULT_STRATEGY) == Z_OK;
		break;
	case ENC_BR:
		e->br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
		e->on = e->br != NULL;
		break;
	case ENC_ZSTD:
		e->zs = ZSTD_createCCtx();
		e->on = e->zs != NULL;
		break;
	}
	return e->on;
}

/* n more bytes, flushed (last: the end of the stream) */
void enc_put(struct enc *e, const char *p, size_t n, bool last, struct sb *dst)
{
	unsigned char tmp[16384];
	if (!e->on)
		return;
	if (e->kind == ENC_GZIP) {
		e->z.next_in = (Bytef *)(uintptr_t)p;
		e->z.avail_in = (uInt)n;
		do {
			e->z.next_out = tmp;
			e->z.avail_out = sizeof tmp;
			if (deflate(&e->z, last ? Z_FINISH : Z_SYNC_FLUSH) == Z_STREAM_ERROR)
				return;
			sb_add(dst, tmp, sizeof tmp - e->z.avail_out);
		} while (e->z.avail_out == 0 || e->z.avail_in > 0);
	} else if (e->kind == ENC_BR) {
		size_t in_left = n;
		const uint8_t *in = (const uint8_t *)p;
		BrotliEncoderOperation op = last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
		do {
			size_t out_left = sizeof tmp;
			uint8_t *o = tmp;
			if (!BrotliEncoderCompressStream(e->br, op, &in_left, &in, &out_left, &o, NULL))
				return;
			sb_add(dst, tmp, sizeof tmp - out_left);
		} while (in_left > 0 || BrotliEncoderHasMoreOutput(e->br));
	} else if (e->kind == ENC_ZSTD) {
		ZSTD_inBuffer in = { p, n, 0 };
		size_t left;
		do {
			ZSTD_outBuffer o = { tmp, sizeof tmp, 0 };
			left = ZSTD_compressStream2(e->zs, &o, &in, last ? ZSTD_e_end : ZSTD_e_flush);
			if (ZSTD_isError(left))
				return;
			sb_add(dst, tmp, o.pos);
		} while (left > 0 || in.pos < in.size);
	}
}

void enc_end(struct enc *e)
{
	if (e->kind == ENC_GZIP && e->on)
		deflateEnd(&e->z);
	if (e->br)
		BrotliEncoderDestroyInstance(e->br);
	if (e->zs)
		ZSTD_freeCCtx(e->zs);
	e->on = false;
	e->br = NULL;
	e->zs = NULL;
}
