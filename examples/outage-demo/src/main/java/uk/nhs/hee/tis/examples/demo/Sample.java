package uk.nhs.hee.tis.examples.demo;

/**
 * One request of the load and how it ended.
 * @param mode "without starter" or "with starter"
 * @param endpoint the tcs endpoint
 * @param phase the drill's phase when the request was sent
 * @param atMillis when it was sent, in milliseconds since the drill started
 * @param latencyMicros how long it took to the last byte, or to the client's timeout
 * @param status the HTTP status, or 0 when no answer came (refused, reset, timed out)
 * @param stale whether tcs answered from a kept copy of the caller's userinfo
 * @param degraded whether tcs answered without Reference's enrichment
 * @param problem whether the body was RFC 9457 Problem Details
 */
record Sample(String mode, String endpoint, String phase, long atMillis, long latencyMicros, int status, boolean stale,
		boolean degraded, boolean problem) {

	boolean ok() {
		return this.status >= 200 && this.status < 300;
	}

	/** A 2xx with everything in it: neither stale nor degraded. */
	boolean fresh() {
		return ok() && !this.stale && !this.degraded;
	}

	/**
	 * What the caller got in place of the real thing: a stale copy, a degraded answer, or a clear
	 * 503 (504 for a timeout) in Problem Details.
	 */
	boolean fallback() {
		return this.stale || this.degraded || ((this.status == 503 || this.status == 504) && this.problem);
	}

}
