package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.io.InputStream;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.ClientHttpResponse;

/**
 * A response that hands every call to the one it wraps: the starter's response wrappers override only what
 * they change. Spring's own decorator of a client response is not public.
 */
abstract class DelegatingResponse implements ClientHttpResponse {

	/** The response wrapped. */
	final ClientHttpResponse delegate;

	DelegatingResponse(ClientHttpResponse delegate) {
		this.delegate = delegate;
	}

	@Override
	public HttpStatusCode getStatusCode() throws IOException {
		return this.delegate.getStatusCode();
	}

	@Override
	public String getStatusText() throws IOException {
		return this.delegate.getStatusText();
	}

	@Override
	public HttpHeaders getHeaders() {
		return this.delegate.getHeaders();
	}

	@Override
	public InputStream getBody() throws IOException {
		return this.delegate.getBody();
	}

	@Override
	public void close() {
		this.delegate.close();
	}

}
