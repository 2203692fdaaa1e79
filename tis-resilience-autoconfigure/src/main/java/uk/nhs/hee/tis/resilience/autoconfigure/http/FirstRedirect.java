package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Locale;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.StreamingHttpOutputMessage;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpResponse;

import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.http.RequestSentException;

/**
 * Follows the redirect that a request which may not be sent again got from its first server, through a
 * client that follows any further ones by itself (decision record 0027). Once the first server answered, a
 * failure to connect to the redirect's target is a {@link RequestSentException}: the request is not sent
 * again.
 * <p>
 * The rules are those of RFC 9110, section 15.4, as the HTTP client under the starter applies them: 301,
 * 302, 303, 307 and 308 with a {@code Location} are followed, resolved against the request's URI; 303 turns
 * the request into a {@code GET}, as do 301 and 302 a {@code POST} (not on Reactor Netty, which keeps it);
 * otherwise the method and body are kept. Spring's simple client follows no redirect of such a request, and
 * Jetty's only a POST's 301, 302 and 303, and neither does the starter for them; nor does it, on Apache
 * HttpClient, follow one to another origin of a request carrying credentials (Apache's own rule). A
 * redirect from {@code https} to {@code http} is not followed (the JDK client does not either): the caller
 * gets the 3xx. When the target is on another origin (scheme, host or port), {@code Authorization},
 * {@code Proxy-Authorization} and {@code Cookie} are not sent to it, as Reactor Netty and browsers do. The
 * redirect is followed only while the attempt's {@code response-timeout} lasts.
 */
final class FirstRedirect {

	private static final Set<Integer> FOLLOWED = Set.of(301, 302, 303, 307, 308);

	private static final Set<String> CREDENTIALS = Set.of("authorization", "proxy-authorization", "cookie");

	/**
	 * The request factories whose client follows a redirect of a POST or PATCH, as Boot configures them (Jetty's
	 * only a POST's 301, 302 and 303); the others (Spring's simple client, one the starter does not know) hand
	 * such a redirect to the caller, and so does the starter.
	 */
	private static final Set<String> FOLLOWS_NON_IDEMPOTENT = Set.of("JdkClientHttpRequestFactory",
			"HttpComponentsClientHttpRequestFactory", "ReactorClientHttpRequestFactory", "JettyClientHttpRequestFactory");

	private static final Set<String> PER_CONNECTION = Set.of("host", "expect", "connection", "transfer-encoding");

	private FirstRedirect() {
	}

	/**
	 * The response a client following redirects would have given.
	 * @param factory the starter's request factory, for the redirect's client
	 * @param sent the request as it was sent to the first server
	 * @param body its body, or null for none
	 * @param response the first server's response
	 * @return that response when it is not a redirect to follow, else the redirect target's
	 * @throws RequestSentException when the redirect's target could not be connected to
	 * @throws SocketTimeoutException when the attempt's {@code response-timeout} ended before the redirect
	 * could be followed
	 * @throws IOException when the redirect's target failed otherwise
	 */
	static ClientHttpResponse follow(ServiceClientHttpRequestFactory factory, ClientHttpRequest sent,
			StreamingHttpOutputMessage.@Nullable Body body, ClientHttpResponse response) throws IOException {
		URI target;
		int status;
		try {
			status = response.getStatusCode().value();
			target = target(sent.getURI(), status, response.getHeaders().getFirst(HttpHeaders.LOCATION));
		}
		catch (IOException | RuntimeException ex) {
			response.close();
			throw ex;
		}
		if (target == null) {
			return response;
		}
		URI from = sent.getURI();
		ClientHttpRequestFactory following = factory.factoryFor(target, sent.getAttributes(), true);
		String client = following.getClass().getSimpleName();
		boolean keepsMethodOn301And302 = client.equals("ReactorClientHttpRequestFactory");
		boolean credentials = sent.getHeaders().headerNames().stream()
			.anyMatch((name) -> CREDENTIALS.contains(name.toLowerCase(Locale.ROOT)));
		// Jetty turns a POST's 301, 302 or 303 into a GET, and hands back the rest.
		boolean jettyHandsBack = client.equals("JettyClientHttpRequestFactory")
				&& !(status == 303 || ((status == 301 || status == 302) && sent.getMethod() == HttpMethod.POST));
		if (!FOLLOWS_NON_IDEMPOTENT.contains(client) || jettyHandsBack
				|| (client.equals("HttpComponentsClientHttpRequestFactory") && credentials && !sameOrigin(from, target))) {
			// What this client does with such a redirect: it hands it to the caller (Spring's simple client, a client
			// the starter does not know), or, for Apache HttpClient, when credentials would cross origins.
			return response;
		}
		// Not read to its end, as Spring's close would: a redirect's body that dribbles must not spend the attempt.
		DeadlineBoundResponse.discardUnread(response);
		try {
			if (sent.getAttributes().get(WireRequest.ATTRIBUTE) instanceof WireRequest wire
					&& System.nanoTime() - wire.attemptDeadlineNanos() >= 0) {
				throw new SocketTimeoutException("the response-timeout ended before the redirect to " + target
						+ " could be followed");
			}
			HttpMethod original = sent.getMethod();
			HttpMethod method = (status == 303
					|| (!keepsMethodOn301And302 && (status == 301 || status == 302) && original == HttpMethod.POST))
					? HttpMethod.GET : original;
			boolean keepsBody = method == original;
			boolean sameOrigin = sameOrigin(from, target);
			ClientHttpRequest next = following.createRequest(target, method);
			sent.getHeaders().forEach((name, values) -> {
				String lower = name.toLowerCase(Locale.ROOT);
				boolean content = lower.startsWith("content-");
				if (!PER_CONNECTION.contains(lower) && (keepsBody || !content)
						&& (sameOrigin || !CREDENTIALS.contains(lower))) {
					next.getHeaders().put(name, new ArrayList<>(values));
				}
			});
			next.getAttributes().putAll(sent.getAttributes());
			ServiceClientHttpRequestFactory.writeBody(next, keepsBody ? body : null);
			return next.execute();
		}
		catch (IOException | RuntimeException ex) {
			if (HttpFailureClassifier.neverConnected(ex)) {
				throw new RequestSentException("the request was sent to " + from + "; its redirect to " + target
						+ " could not be followed", ex);
			}
			throw ex;
		}
	}

	/** Where a response redirects to, or null when it is not a redirect a client follows. */
	private static @Nullable URI target(URI from, int status, @Nullable String location) {
		if (!FOLLOWED.contains(status) || location == null) {
			return null;
		}
		URI target;
		try {
			target = from.resolve(location.trim());
		}
		catch (IllegalArgumentException ex) {
			// A client following redirects fails on it too: the caller gets what the server said.
			return null;
		}
		String scheme = target.getScheme();
		boolean web = "http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme);
		boolean downgrade = "https".equalsIgnoreCase(from.getScheme()) && "http".equalsIgnoreCase(scheme);
		return (web && !downgrade && target.getRawAuthority() != null) ? target : null;
	}

	private static boolean sameOrigin(URI a, URI b) {
		return a.getScheme().equalsIgnoreCase(b.getScheme()) && host(a).equalsIgnoreCase(host(b)) && port(a) == port(b);
	}

	// A host Java's URI does not take as one (an underscore in it) leaves only the authority.
	private static String host(URI uri) {
		String host = uri.getHost();
		return (host != null) ? host : String.valueOf(uri.getRawAuthority());
	}

	private static int port(URI uri) {
		if (uri.getPort() != -1) {
			return uri.getPort();
		}
		return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
	}

}
