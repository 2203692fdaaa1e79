package uk.nhs.hee.tis.resilience.jwt;

import java.io.IOException;

/**
 * A key set fetch that failed for a reason the source recognises, named once here so that metrics
 * tags never depend on an exception's message text.
 */
final class KeySetFetchException extends IOException {

	private static final long serialVersionUID = 1L;

	private final Cause cause;

	KeySetFetchException(Cause cause, String message) {
		super(message);
		this.cause = cause;
	}

	Cause failureCause() {
		return this.cause;
	}

	/** Why a fetch failed; {@link #tag()} is the {@code cause} tag of the failure metrics. */
	enum Cause {

		/** No complete answer within the fetch's total deadline (connect, headers and body). */
		TIMEOUT("timeout"),

		/** No connection could be made. */
		CONNECT("connect"),

		/** The issuer answered with a status other than 2xx. */
		HTTP_STATUS("http_status"),

		/** The body is not a key set. */
		MALFORMED("malformed"),

		/** The key set holds no key this source may use. */
		NO_USABLE_KEY("no_usable_key"),

		/** The body is over the size limit. */
		TOO_LARGE("too_large"),

		/** Anything else. */
		OTHER("other");

		private final String tag;

		Cause(String tag) {
			this.tag = tag;
		}

		String tag() {
			return this.tag;
		}

	}

}
