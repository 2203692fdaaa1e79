package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpRequest;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.ClientHttpResponse;

import uk.nhs.hee.tis.resilience.policy.ServiceGuard;

/**
 * Keeps the last good response to each GET of a service whose {@code stale-if-error} is set, and
 * serves it, marked stale, when the service fails within that window. Entries are keyed by the
 * request as it went on the wire, after every interceptor (see {@link WireRequest}): its path and
 * query and every header but tracing and correlation ids, so credentials are in the key wherever a
 * client puts them; they are also checked against the headers the response named in {@code Vary}:
 * one user's userinfo is never another's.
 * Responses marked {@code no-store} (unless the service is configured to ignore it),
 * {@code private} ones without credentials, anything but a 200,
 * and bodies over the size limit are not kept. Memory is bounded by the total size of the bodies
 * held (Caffeine, weighed by body size).
 */
final class StaleResponseCache {

	static final String WARNING = "110 tis-resilience \"Response is Stale\"";

	private final Cache<Key, Entry> entries;

	private final long maxBodySize;

	private final Set<String> servicesIgnoringNoStore;


	/** Request headers that differ on every request and say nothing of who is calling. */
	static final Set<String> HEADERS_NOT_IN_KEY = Set.of("traceparent", "tracestate", "baggage", "b3", "x-b3-traceid",
			"x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "x-request-id", "x-correlation-id",
			"x-amzn-trace-id", "user-agent", "accept-encoding", "idempotency-key", "content-length", "host",
			"connection");

	private final Set<String> headersNotInKey;

	StaleResponseCache(long maxTotalSize, long maxBodySize, Set<String> servicesIgnoringNoStore,
			List<String> moreHeadersNotInKey) {
		this.maxBodySize = maxBodySize;
		this.servicesIgnoringNoStore = Set.copyOf(servicesIgnoringNoStore);
		Set<String> notInKey = new java.util.HashSet<>(HEADERS_NOT_IN_KEY);
		moreHeadersNotInKey.forEach((name) -> notInKey.add(name.trim().toLowerCase(Locale.ROOT)));
		this.headersNotInKey = Set.copyOf(notInKey);
		this.entries = Caffeine.newBuilder()
			.maximumWeight(maxTotalSize)
			.weigher((Key key, Entry entry) -> entry.body().length + 512)
			.expireAfter(new Expiry<Key, Entry>() {

				@Override
				public long expireAfterCreate(Key key, Entry entry, long currentTime) {
					return entry.window().toNanos();
				}

				@Override
				public long expireAfterUpdate(Key key, Entry entry, long currentTime, long currentDuration) {
					return entry.window().toNanos();
				}

				@Override
				public long expireAfterRead(Key key, Entry entry, long currentTime, long currentDuration) {
					return currentDuration;
				}

			})
			.build();
	}

	/** Whether responses to a request may be kept: a GET to a service with a stale-if-error window. */
	boolean applies(ServiceGuard guard, HttpRequest request) {
		return request.getMethod() == HttpMethod.GET && !guard.policy().staleIfError().isZero();
	}

	/**
	 * The cache key of a request, from the request as it went on the wire: its path and query, and a
	 * SHA-256 of every header it carried but those that never tell callers apart
	 * ({@link #HEADERS_NOT_IN_KEY} and {@code stale-cache.headers-not-in-key}). Credentials are in the
	 * key wherever a client puts them: {@code Authorization}, {@code Cookie}, an API-key header, a token
	 * in the query. A request that carried the service token the starter added for this service is keyed
	 * by the service account instead of the token, so a refreshed token still finds the responses kept
	 * under the previous one (same principal).
	 * @param sent the request's URI after every interceptor (host and port left out, so that instances
	 * behind a load balancer share a copy)
	 * @param sentHeaders the request's headers after every interceptor
	 * @param serviceToken the service token the starter added to this request, or null
	 */
	Key keyFor(ServiceGuard guard, URI sent, HttpHeaders sentHeaders, @Nullable String serviceToken) {
		String authorization = sentHeaders.getFirst(HttpHeaders.AUTHORIZATION);
		boolean asServiceAccount = serviceToken != null && ("Bearer " + serviceToken).equals(authorization);
		boolean anonymous = authorization == null && sentHeaders.getFirst(HttpHeaders.COOKIE) == null;
		String pathAndQuery = String.valueOf(sent.getRawPath())
				+ ((sent.getRawQuery() != null) ? "?" + sent.getRawQuery() : "");
		return new Key(guard.name(), pathAndQuery, digest(sentHeaders, asServiceAccount), anonymous,
				guard.policy().staleIfError(), sentHeaders);
	}

	/**
	 * Keeps a copy of a good response when it may be kept, and returns what the caller reads: the
	 * same response, its body buffered (or, when the body is too large to keep, streamed on).
	 */
	ClientHttpResponse store(Key key, ClientHttpResponse response) throws IOException {
		if (response.getStatusCode().is4xxClientError()) {
			forget(key);
			return response;
		}
		if (!mayKeep(key, response.getStatusCode(), response.getHeaders())) {
			return response;
		}
		InputStream body = response.getBody();
		byte[] read = body.readNBytes((int) Math.min(this.maxBodySize + 1, Integer.MAX_VALUE - 8));
		if (read.length > this.maxBodySize) {
			return new BufferedResponse(response, new SequenceInputStream(new ByteArrayInputStream(read), body),
					response.getHeaders());
		}
		response.close();
		HttpHeaders headers = keep(key, response.getStatusCode(), response.getHeaders(), read);
		return new BufferedResponse(response.getStatusCode(), response.getStatusText(), headers, read, false);
	}

	/**
	 * Whether a response may be kept at all, judged by its status and headers: a 200 that is not a
	 * stream (server-sent events, NDJSON: their caller wants each part as it comes), not {@code no-store}
	 * (unless the service ignores it), not {@code private} without credentials, not {@code Vary: *}, and
	 * not declared longer than the body size limit.
	 */
	boolean mayKeep(Key key, HttpStatusCode status, HttpHeaders headers) {
		return status.value() == 200 && !ReadAheadResponse.isStreaming(headers) && mayKeep(key, headers)
				&& headers.getContentLength() <= this.maxBodySize;
	}

	/** The largest body kept, in bytes. */
	long maxBodySize() {
		return this.maxBodySize;
	}

	/**
	 * Keeps a copy of a good response whose whole body has been read, when it may be kept.
	 * @return a copy of the headers, as kept
	 */
	HttpHeaders keep(Key key, HttpStatusCode status, HttpHeaders responseHeaders, byte[] body) {
		HttpHeaders headers = new HttpHeaders();
		headers.putAll(responseHeaders);
		if (body.length <= this.maxBodySize && mayKeep(key, status, responseHeaders)
				&& WellFormedBodies.mayReplaceTheKeptCopy(responseHeaders, body)) {
			// A copy never sets a cookie: it was meant for the caller who got it then, not for whoever is served it.
			HttpHeaders kept = new HttpHeaders();
			kept.putAll(responseHeaders);
			kept.remove(HttpHeaders.SET_COOKIE);
			Map<String, List<String>> vary = varyValues(key.requestHeaders(), responseHeaders);
			this.entries.put(key, new Entry(status, kept, body, vary, System.nanoTime(), key.window()));
		}
		return headers;
	}

	/**
	 * Drops the copy kept for a request, when the service has since answered it definitively with something
	 * else (a 4xx: access revoked, gone): the old answer must not be served in an outage after that.
	 */
	void forget(Key key) {
		this.entries.invalidate(key);
	}

	/** The kept response for a request, marked stale, or null when none may be served. */
	@Nullable ClientHttpResponse staleResponse(Key key) {
		Kept kept = kept(key);
		return (kept != null) ? new BufferedResponse(kept.status(), "", kept.headers(), kept.body(), true) : null;
	}

	/**
	 * The kept response for a request, its headers marked stale ({@code Warning: 110}, {@code Age}), or
	 * null when none may be served.
	 */
	@Nullable Kept kept(Key key) {
		Entry entry = this.entries.getIfPresent(key);
		if (entry == null || !entry.vary().equals(varyValues(key.requestHeaders(), entry.headers()))) {
			return null;
		}
		long ageSeconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - entry.storedAt());
		HttpHeaders headers = new HttpHeaders();
		headers.putAll(entry.headers());
		headers.set(HttpHeaders.WARNING, WARNING);
		headers.set("Age", Long.toString(ageSeconds));
		return new Kept(entry.status(), headers, entry.body());
	}

	/** A kept response as served: status, headers marked stale, and body. */
	record Kept(HttpStatusCode status, HttpHeaders headers, byte[] body) {
	}

	private boolean mayKeep(Key key, HttpHeaders headers) {
		String cacheControl = String.join(",", headers.getOrEmpty(HttpHeaders.CACHE_CONTROL)).toLowerCase(Locale.ROOT);
		if (cacheControl.contains("no-store") && !this.servicesIgnoringNoStore.contains(key.service())) {
			return false;
		}
		if (cacheControl.contains("private") && key.anonymous()) {
			return false;
		}
		return !headers.getOrEmpty(HttpHeaders.VARY).contains("*");
	}

	private static Map<String, List<String>> varyValues(HttpHeaders request, HttpHeaders response) {
		Map<String, List<String>> values = new LinkedHashMap<>();
		for (String vary : response.getOrEmpty(HttpHeaders.VARY)) {
			for (String name : vary.split(",")) {
				String header = name.trim().toLowerCase(Locale.ROOT);
				if (!header.isEmpty()) {
					values.put(header, request.getOrEmpty(header));
				}
			}
		}
		return values;
	}

	private static final String SERVICE_ACCOUNT = "service-account";

	// Names lower-cased and sorted, values in order: the same request always digests the same.
	private String digest(HttpHeaders headers, boolean asServiceAccount) {
		java.util.TreeMap<String, List<String>> inKey = new java.util.TreeMap<>();
		headers.forEach((name, values) -> {
			String lower = name.toLowerCase(Locale.ROOT);
			if (!this.headersNotInKey.contains(lower)) {
				inKey.computeIfAbsent(lower, (key) -> new java.util.ArrayList<>()).addAll(values);
			}
		});
		if (asServiceAccount) {
			inKey.put("authorization", List.of(SERVICE_ACCOUNT));
		}
		try {
			MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
			inKey.forEach((name, values) -> {
				sha256.update(name.getBytes(StandardCharsets.UTF_8));
				sha256.update((byte) 0);
				for (String value : values) {
					sha256.update(value.getBytes(StandardCharsets.UTF_8));
					sha256.update((byte) 0);
				}
				sha256.update((byte) 1);
			});
			return HexFormat.of().formatHex(sha256.digest());
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is required of every Java platform", ex);
		}
	}

	/**
	 * What a kept response is found by. The request headers ride along for the {@code Vary} check
	 * and are not part of equality.
	 */
	static final class Key {

		private final String service;

		private final String pathAndQuery;

		private final String credentials;

		private final boolean anonymous;

		private final Duration window;

		private final HttpHeaders requestHeaders;

		Key(String service, String pathAndQuery, String credentials, boolean anonymous, Duration window,
				HttpHeaders requestHeaders) {
			this.service = service;
			this.pathAndQuery = pathAndQuery;
			this.credentials = credentials;
			this.anonymous = anonymous;
			this.window = window;
			this.requestHeaders = requestHeaders;
		}

		String service() {
			return this.service;
		}

		boolean anonymous() {
			return this.anonymous;
		}

		Duration window() {
			return this.window;
		}

		HttpHeaders requestHeaders() {
			return this.requestHeaders;
		}

		@Override
		public boolean equals(Object other) {
			return other instanceof Key key && this.service.equals(key.service)
					&& this.pathAndQuery.equals(key.pathAndQuery) && this.credentials.equals(key.credentials);
		}

		@Override
		public int hashCode() {
			return (this.service.hashCode() * 31 + this.pathAndQuery.hashCode()) * 31 + this.credentials.hashCode();
		}

	}

	private record Entry(HttpStatusCode status, HttpHeaders headers, byte[] body, Map<String, List<String>> vary,
			long storedAt, Duration window) {
	}

	/** A response whose body is in memory (or partly, then streamed on). */
	static final class BufferedResponse implements ClientHttpResponse {

		private final HttpStatusCode status;

		private final String statusText;

		private final HttpHeaders headers;

		private final InputStream body;

		private final @Nullable ClientHttpResponse origin;

		private final boolean stale;

		BufferedResponse(HttpStatusCode status, String statusText, HttpHeaders headers, byte[] body, boolean stale) {
			this.status = status;
			this.statusText = statusText;
			this.headers = headers;
			this.body = new ByteArrayInputStream(body);
			this.origin = null;
			this.stale = stale;
		}

		BufferedResponse(ClientHttpResponse origin, InputStream body, HttpHeaders headers) throws IOException {
			this.status = origin.getStatusCode();
			this.statusText = origin.getStatusText();
			this.headers = headers;
			this.body = body;
			this.origin = origin;
			this.stale = false;
		}

		/** Whether the rest of the body still streams from the service (too large to keep). */
		boolean streamsOn() {
			return this.origin != null;
		}

		/** Whether this is a kept copy served in place of a failed call. */
		boolean stale() {
			return this.stale;
		}

		@Override
		public HttpStatusCode getStatusCode() {
			return this.status;
		}

		@Override
		public String getStatusText() {
			return this.statusText;
		}

		@Override
		public HttpHeaders getHeaders() {
			return this.headers;
		}

		@Override
		public InputStream getBody() {
			return this.body;
		}

		@Override
		public void close() {
			if (this.origin != null) {
				this.origin.close();
			}
		}

	}

}
