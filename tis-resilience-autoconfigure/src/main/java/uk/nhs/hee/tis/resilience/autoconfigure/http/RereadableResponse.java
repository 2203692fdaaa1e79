package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

import org.jspecify.annotations.Nullable;

import org.springframework.http.client.ClientHttpResponse;
import org.springframework.util.StreamUtils;

/**
 * A response whose body is read into memory the first time it is asked for, and can then be read again,
 * as Spring's {@code BufferingClientHttpRequestFactory} makes them (its wrapper is not public).
 */
final class RereadableResponse extends DelegatingResponse {

	private volatile byte @Nullable [] body;

	private @Nullable IOException failure;

	RereadableResponse(ClientHttpResponse response) {
		super(response);
	}

	/**
	 * The body, read whole the first time. A read that failed fails again the same way: what is left of the
	 * stream is not a body.
	 */
	@Override
	public InputStream getBody() throws IOException {
		byte[] body = this.body;
		if (body == null) {
			synchronized (this) {
				body = this.body;
				if (body == null) {
					if (this.failure != null) {
						throw new IOException("the response body could not be read", this.failure);
					}
					try {
						body = StreamUtils.copyToByteArray(this.delegate.getBody());
					}
					catch (IOException ex) {
						this.failure = ex;
						throw ex;
					}
					this.body = body;
				}
			}
		}
		return new ByteArrayInputStream(body);
	}

}
