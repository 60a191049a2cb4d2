/* oadr_sig.h - OpenADR 2.0b XML signatures (Profile Specification, "XML Signature"): sign an
 * encoded oadrPayload and verify a received one.  The signature is a ds:Signature (XMLDSig) as the
 * first child of oadrPayload, with two references: the oadrSignedObject (by its oadr:Id) and a
 * dsp:ReplayProtect signature property (timestamp and nonce) in a ds:Object; exclusive C14N,
 * SHA-256 digests, ECDSA-SHA256 or RSA-SHA256 after the key, the signer's certificate in
 * ds:KeyInfo/ds:X509Data.  Built on xmlsec (libxmlsec1, OpenSSL).
 *
 * Input is bounded (OADR_SIG_MAX_BYTES) and parsed without network access, DTDs or entities: a
 * document with a DOCTYPE is refused.  Each function leaves one line in ERR saying which check
 * failed.  An oadr_sig_t may be used from one thread at a time. */
#ifndef GRIDEDGE_OADR_SIG_H
#define GRIDEDGE_OADR_SIG_H

#include <stddef.h>

#include <gridedge/buf.h>

#define OADR_SIG_MAX_BYTES (4u << 20)
/* ReplayProtect: a timestamp further than this from the verifier's clock is refused */
#define OADR_SIG_DEFAULT_SKEW_S 300
/* ReplayProtect nonces a verifier remembers by default: those of the payloads verified within the
 * timestamp window (a nonce is kept until its timestamp is MAX_SKEW_S old, at most 2 x 300 s after
 * it was seen), enough for 6 signed payloads a second, 160 KiB; the most that may be asked for */
#define OADR_SIG_DEFAULT_NONCES 4096
#define OADR_SIG_MAX_NONCES (1u << 20)

typedef struct oadr_sig oadr_sig_t;

/* A signer and verifier.  CERT_FILE/KEY_FILE (PEM; both or neither): what oadr_sig_sign() signs
 * with.  CA_FILE (PEM, may hold several): the roots a signer's certificate must chain to for
 * oadr_sig_verify(); NULL: this one only signs.  0, or a negative ge_err with ERR filled. */
int oadr_sig_new(oadr_sig_t **out, const char *cert_file, const char *key_file, const char *ca_file, char *err,
                 size_t errlen);
void oadr_sig_free(oadr_sig_t *s);

/* Sign the oadrPayload IN (LEN bytes, unsigned: no ds:Signature yet) at unix time NOW (the
 * ReplayProtect timestamp): the oadrSignedObject gets an oadr:Id unless it has one, the
 * ds:Signature is inserted before it, and the signed document is appended to OUT. */
int oadr_sig_sign(oadr_sig_t *s, const void *in, size_t len, double now, ge_buf_t *out, char *err, size_t errlen);

/* Verify the oadrPayload IN at unix time NOW: it carries a ds:Signature whose references all
 * verify, one of them is the oadrSignedObject (the element the Id names, nothing else), one the
 * ReplayProtect property, whose timestamp is within MAX_SKEW_S of NOW (0: not checked) and whose
 * nonce was not in a payload verified before within that window (see oadr_sig_set_nonce_memory);
 * the key is the certificate's in X509Data, and that certificate chains to the CA.  0 when all
 * hold, and the nonce is remembered; else GE_ERR_PARSE (not a well-formed, bounded oadrPayload),
 * GE_ERR_PROTOCOL (no or a bad signature, a replayed nonce), GE_ERR_CERT (the certificate),
 * GE_ERR_STATE (no CA given), GE_ERR_LIMIT (the nonce table is full: refused rather than a nonce
 * forgotten early), with the reason in ERR. */
int oadr_sig_verify(oadr_sig_t *s, const void *in, size_t len, double now, double max_skew_s, char *err,
                    size_t errlen);

/* The ReplayProtect nonces S remembers: at most MAX_NONCES at a time (OADR_SIG_DEFAULT_NONCES
 * unless set; at most OADR_SIG_MAX_NONCES), each until a replay of it would fail the timestamp
 * check.  0: none (for re-checking recorded traffic, where the same payload is verified again on
 * purpose).  Forgets the nonces remembered so far.  0, or GE_ERR_INVALID. */
int oadr_sig_set_nonce_memory(oadr_sig_t *s, size_t max_nonces);
/* How many nonces S remembers now (those still within their window at the last verification). */
size_t oadr_sig_nonces_remembered(const oadr_sig_t *s);

#endif
