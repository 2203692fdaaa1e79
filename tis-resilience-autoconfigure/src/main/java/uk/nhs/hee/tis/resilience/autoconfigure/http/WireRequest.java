package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpResponse;

/**
 * The headers of a protected request as it went on the wire: after every interceptor of the client,
 * including those that run after the starter's (a token relay that sets {@code Authorization}, a
 * cookie). The guard interceptor puts one in the request's attributes, which Spring copies onto the
 * request the request factory creates; the starter's request factory records the final headers
 * and URI when the request is executed. A probe sends nothing: it only runs the client's
 * interceptors to learn what a request would carry, for a call the guard rejected without I/O. Its
 * URI has the {@value #PROBE_SCHEME} scheme, so that a request factory other than the starter's
 * fails on it before any I/O instead of sending it.
 */
final class WireRequest {

	/** The request attribute it travels under. */
	static final String ATTRIBUTE = WireRequest.class.getName();

	/**
	 * The scheme of a probe's URI. A probe that reaches a request factory other than the starter's
	 * (which would really send it) fails there at once on this scheme, before any I/O.
	 */
	static final String PROBE_SCHEME = "tis-resilience-probe";

	private final boolean keepsWhatWasSent;

	private final String service;

	private final boolean idempotent;

	private volatile boolean reached;

	private volatile long attemptDeadlineNanos = Long.MAX_VALUE;

	private @Nullable HttpHeaders headers;

	private @Nullable URI uri;

	private boolean probe;

	/**
	 * Creates one for a request.
	 * @param keepsWhatWasSent whether to copy the headers and URI as sent (only a stale-if-error key needs
	 * them: every other call only learns whether it went through the starter's request factory)
	 * @param service the service the guard resolved from the request's logical URL
	 * @param idempotent whether the guard may send the request again (an idempotent method, or an
	 * {@code Idempotency-Key}): when not, the request factory follows a redirect itself, so that a failure
	 * after the first server had the request is told from one before ({@link ServiceClientHttpRequestFactory})
	 */
	WireRequest(boolean keepsWhatWasSent, String service, boolean idempotent) {
		this.keepsWhatWasSent = keepsWhatWasSent;
		this.service = service;
		this.idempotent = idempotent;
	}

	/**
	 * The service the guard resolved from the request's logical URL, before any load balancer rewrote it:
	 * the request factory applies this service's timeouts.
	 */
	String service() {
		return this.service;
	}

	/** Whether the guard may send the request again. */
	boolean idempotent() {
		return this.idempotent;
	}

	/**
	 * Notes when the current attempt's {@code response-timeout} ends.
	 * @param deadlineNanos on {@link System#nanoTime()}'s scale
	 */
	void attemptEndsAt(long deadlineNanos) {
		this.attemptDeadlineNanos = deadlineNanos;
	}

	/** When the current attempt's {@code response-timeout} ends, on {@link System#nanoTime()}'s scale. */
	long attemptDeadlineNanos() {
		return this.attemptDeadlineNanos;
	}

	/** Whether an attempt reached the starter's request factory. */
	boolean reached() {
		return this.reached;
	}

	/** The headers of the last attempt as it went on the wire, or null when none was seen or kept. */
	@Nullable HttpHeaders headers() {
		return this.headers;
	}

	/** The URI of the last attempt as it went on the wire, or null when none was seen. */
	@Nullable URI uri() {
		return this.uri;
	}

	private void record(ClientHttpRequest request) {
		this.reached = true;
		if (!this.keepsWhatWasSent) {
			return;
		}
		HttpHeaders sent = new HttpHeaders();
		sent.putAll(request.getHeaders());
		this.headers = HttpHeaders.readOnlyHttpHeaders(sent);
		this.uri = request.getURI();
	}

	void startProbe() {
		this.probe = true;
	}

	static ClientHttpRequest recording(ClientHttpRequest request) {
		return new RecordingRequest(request);
	}

	/** Whether a URI is a probe's, which the starter's request factory answers without a client. */
	static boolean isProbe(URI uri) {
		return PROBE_SCHEME.equals(uri.getScheme());
	}

	/** The request a probe ends in at the starter's request factory: it records, and sends nothing. */
	static ClientHttpRequest probe(URI uri, HttpMethod method) {
		return new RecordingRequest(new ProbeEnd(uri, method));
	}

	/** Ends a probe at the request factory: nothing is sent. */
	static final class ProbeComplete extends IOException {

		private static final long serialVersionUID = 1L;

		ProbeComplete() {
			super("tis-resilience probe: the request was not sent");
		}

	}

	private static final class RecordingRequest implements ClientHttpRequest {

		private final ClientHttpRequest delegate;

		RecordingRequest(ClientHttpRequest delegate) {
			this.delegate = delegate;
		}

		@Override
		public ClientHttpResponse execute() throws IOException {
			if (this.delegate.getAttributes().get(ATTRIBUTE) instanceof WireRequest wire) {
				wire.record(this);
				if (wire.probe) {
					throw new ProbeComplete();
				}
			}
			return this.delegate.execute();
		}

		@Override
		public OutputStream getBody() throws IOException {
			return this.delegate.getBody();
		}

		@Override
		public HttpHeaders getHeaders() {
			return this.delegate.getHeaders();
		}

		@Override
		public HttpMethod getMethod() {
			return this.delegate.getMethod();
		}

		@Override
		public URI getURI() {
			return this.delegate.getURI();
		}

		@Override
		public Map<String, Object> getAttributes() {
			return this.delegate.getAttributes();
		}

	}

	/** Where a probe ends: headers and attributes to be copied onto, and nothing to send. */
	private static final class ProbeEnd implements ClientHttpRequest {

		private final URI uri;

		private final HttpMethod method;

		private final HttpHeaders headers = new HttpHeaders();

		private final Map<String, Object> attributes = new java.util.HashMap<>();

		ProbeEnd(URI uri, HttpMethod method) {
			this.uri = uri;
			this.method = method;
		}

		@Override
		public ClientHttpResponse execute() throws IOException {
			throw new ProbeComplete();
		}

		@Override
		public OutputStream getBody() {
			return OutputStream.nullOutputStream();
		}

		@Override
		public HttpHeaders getHeaders() {
			return this.headers;
		}

		@Override
		public HttpMethod getMethod() {
			return this.method;
		}

		@Override
		public URI getURI() {
			return this.uri;
		}

		@Override
		public Map<String, Object> getAttributes() {
			return this.attributes;
		}

	}

}
