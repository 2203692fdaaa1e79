package uk.nhs.hee.tis.resilience.autoconfigure.http;

import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpComponentsClientHttpRequestFactoryBuilder;
import org.springframework.util.ClassUtils;

/**
 * Switches off the retries an HTTP client the application chose makes by itself, so that the
 * starter's retry, bounded by {@code max-attempts} and the retry budget and never after a POST reached
 * the server, is the only one. Apache HttpClient 5 retries by default (its
 * {@code DefaultHttpRequestRetryStrategy}: once more after an I/O error, and after a 429 or 503 for
 * idempotent requests). The JDK client, the starter's default, also sends a GET or HEAD again by itself
 * when the server closed the connection before answering, and offers no switch for it: that one extra
 * request is a known limit (docs/decisions/0017).
 */
final class ClientOwnRetries {

	private static final boolean APACHE_PRESENT = ClassUtils.isPresent(
			"org.apache.hc.client5.http.impl.classic.HttpClientBuilder", ClientOwnRetries.class.getClassLoader());

	private ClientOwnRetries() {
	}

	static ClientHttpRequestFactoryBuilder<?> switchedOff(ClientHttpRequestFactoryBuilder<?> builder) {
		if (APACHE_PRESENT) {
			return Apache.switchedOff(builder);
		}
		return builder;
	}

	/** Loaded only when Apache HttpClient is on the class path. */
	private static final class Apache {

		static ClientHttpRequestFactoryBuilder<?> switchedOff(ClientHttpRequestFactoryBuilder<?> builder) {
			if (builder instanceof HttpComponentsClientHttpRequestFactoryBuilder apache) {
				return apache.withHttpClientCustomizer((client) -> client.disableAutomaticRetries());
			}
			return builder;
		}

	}

}
