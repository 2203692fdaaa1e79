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
 * when the request is executed. A probe sends nothing: it only runs the client's interceptors to
 * learn the credentials a request would carry, for a call the guard rejected without I/O.
 */
final class WireRequest {

	/** The request attribute it travels under. */
	static final String ATTRIBUTE = WireRequest.class.getName();

	private @Nullable HttpHeaders headers;

	private boolean probe;

	/** The headers of the last attempt as it went on the wire, or null when none was seen. */
	@Nullable HttpHeaders headers() {
		return this.headers;
	}

	void startProbe() {
		this.probe = true;
	}

	static ClientHttpRequest recording(ClientHttpRequest request) {
		return new RecordingRequest(request);
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
				HttpHeaders sent = new HttpHeaders();
				sent.putAll(this.delegate.getHeaders());
				wire.headers = HttpHeaders.readOnlyHttpHeaders(sent);
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

}
