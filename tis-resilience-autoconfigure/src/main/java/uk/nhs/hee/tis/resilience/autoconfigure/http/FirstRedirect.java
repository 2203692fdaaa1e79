package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpResponse;

import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.http.RequestSentException;

/**
 * Follows the redirect a request that may not be sent again got from its first server, through a client
 * that follows any further ones by itself. Once the first server answered, a failure to connect to the
 * redirect's target is a {@link RequestSentException}: the request is not sent again.
 * <p>
 * The rules are those the HTTP clients Boot configures apply (RFC 9110, section 15.4): 301, 302, 303, 307
 * and 308 with a {@code Location} are followed, resolved against the request's URI; 303 turns the request
 * into a {@code GET}, as do 301 and 302 a {@code POST}; otherwise the method and body are kept. When the
 * target is on another origin (scheme, host or port), {@code Authorization}, {@code Proxy-Authorization}
 * and {@code Cookie} are not sent to it, as Reactor Netty and browsers do: credentials for one server are
 * not handed to another.
 */
final class FirstRedirect {

	private static final Set<Integer> FOLLOWED = Set.of(301, 302, 303, 307, 308);

	private static final Set<String> CREDENTIALS = Set.of(HttpHeaders.AUTHORIZATION.toLowerCase(Locale.ROOT),
			HttpHeaders.PROXY_AUTHORIZATION.toLowerCase(Locale.ROOT), HttpHeaders.COOKIE.toLowerCase(Locale.ROOT));

	private final ServiceClientHttpRequestFactory factory;

	private final ClientHttpRequest sent;

	private final byte[] body;

	/**
	 * @param factory the starter's request factory, for the redirect's client
	 * @param sent the request as it was sent to the first server
	 * @param body its body (empty for none)
	 */
	FirstRedirect(ServiceClientHttpRequestFactory factory, ClientHttpRequest sent, byte[] body) {
		this.factory = factory;
		this.sent = sent;
		this.body = body;
	}

	/**
	 * The response a client following redirects would have given.
	 * @param response the first server's response
	 * @return that response when it is not a redirect to follow, else the redirect target's
	 * @throws RequestSentException when the redirect's target could not be connected to
	 * @throws IOException when the redirect's target failed otherwise
	 */
	ClientHttpResponse follow(ClientHttpResponse response) throws IOException {
		int status = response.getStatusCode().value();
		String location = response.getHeaders().getFirst(HttpHeaders.LOCATION);
		if (!FOLLOWED.contains(status) || location == null) {
			return response;
		}
		URI from = this.sent.getURI();
		URI target;
		try {
			target = from.resolve(location.trim());
		}
		catch (IllegalArgumentException ex) {
			// A client following redirects fails on it too; the caller gets what the server said.
			return response;
		}
		String scheme = target.getScheme();
		if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
				|| target.getHost() == null) {
			return response;
		}
		response.close();
		HttpMethod original = this.sent.getMethod();
		HttpMethod method = (status == 303 || ((status == 301 || status == 302) && original == HttpMethod.POST))
				? HttpMethod.GET : original;
		boolean keepsBody = method == original;
		boolean sameOrigin = sameOrigin(from, target);
		ClientHttpRequest next = this.factory.factoryFor(target, this.sent.getAttributes(), true)
			.createRequest(target, method);
		this.sent.getHeaders().forEach((name, values) -> {
			String lower = name.toLowerCase(Locale.ROOT);
			boolean content = lower.startsWith("content-") || lower.equals("transfer-encoding");
			if ((keepsBody || !content) && (sameOrigin || !CREDENTIALS.contains(lower))) {
				next.getHeaders().put(name, values);
			}
		});
		next.getAttributes().putAll(this.sent.getAttributes());
		if (keepsBody && this.body.length > 0) {
			ServiceClientHttpRequestFactory.writeBody(next, (out) -> out.write(this.body));
		}
		try {
			return next.execute();
		}
		catch (IOException ex) {
			if (HttpFailureClassifier.neverConnected(ex)) {
				throw new RequestSentException("the request was sent to " + from + "; its redirect to " + target
						+ " could not be followed", ex);
			}
			throw ex;
		}
	}

	private static boolean sameOrigin(URI a, URI b) {
		return a.getScheme().equalsIgnoreCase(b.getScheme()) && Objects.requireNonNull(a.getHost()).equalsIgnoreCase(b.getHost())
				&& port(a) == port(b);
	}

	private static int port(URI uri) {
		if (uri.getPort() != -1) {
			return uri.getPort();
		}
		return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
	}

}
