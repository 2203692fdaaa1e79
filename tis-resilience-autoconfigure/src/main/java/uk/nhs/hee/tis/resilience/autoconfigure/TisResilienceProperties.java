package uk.nhs.hee.tis.resilience.autoconfigure;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

import uk.nhs.hee.tis.resilience.policy.ServicePolicy;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy.BulkheadPolicy;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy.CircuitBreakerPolicy;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy.OutlierEjectionPolicy;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy.RetryPolicy;

/**
 * Configuration of tis-resilience, under {@code tis.resilience}. Every service inherits
 * {@code defaults}; each entry of {@code services} overrides what it sets. Values are checked when
 * they are bound: a bad one stops startup with a message naming its key.
 *
 * @param enabled Whether the starter protects outbound calls.
 * @param defaults Policy every service inherits.
 * @param services Downstream services by name, each with the URL its requests start with and what
 * it overrides of the defaults.
 * @param maxUnconfiguredServices How many services that are not configured (named host:port) get a
 * breaker of their own; further ones share one.
 * @param staleCache Memory given to the stale-if-error cache of GET responses.
 * @param problemDetails Problem Details answers for failures that reach a controller unhandled.
 * @param jwt JWT validation that survives an outage of the token issuer (Keycloak).
 * @param serviceTokens When service-to-service (client-credentials) tokens are refreshed.
 * @since 0.1.0
 */
@ConfigurationProperties(prefix = "tis.resilience", ignoreUnknownFields = false)
public record TisResilienceProperties(@DefaultValue("true") boolean enabled, @DefaultValue ServiceProperties defaults,
		Map<String, ServiceProperties> services, @DefaultValue("100") int maxUnconfiguredServices,
		@DefaultValue StaleCacheProperties staleCache, @DefaultValue ProblemDetailsProperties problemDetails,
		@DefaultValue JwtProperties jwt, @DefaultValue ServiceTokensProperties serviceTokens) {

	static final String PREFIX = "tis.resilience";

	/**
	 * Binds and checks the properties.
	 * @throws IllegalArgumentException naming the key of the first value that is not valid
	 */
	public TisResilienceProperties {
		services = (services != null) ? Collections.unmodifiableMap(new LinkedHashMap<>(services)) : Map.of();
		if (maxUnconfiguredServices < 0) {
			throw new IllegalArgumentException(
					PREFIX + ".max-unconfigured-services must not be negative but was " + maxUnconfiguredServices);
		}
		if (staleCache.maxSize().toBytes() <= 0 || staleCache.maxBodySize().toBytes() <= 0) {
			throw new IllegalArgumentException(PREFIX + ".stale-cache.max-size and " + PREFIX
					+ ".stale-cache.max-body-size must be positive but were " + staleCache.maxSize() + " and "
					+ staleCache.maxBodySize());
		}
		jwt.check(PREFIX + ".jwt");
		if (defaults.url() != null) {
			throw new IllegalArgumentException(
					PREFIX + ".defaults.url is not allowed: a URL belongs to one service under " + PREFIX + ".services");
		}
		if (defaults.circuitBreaker().probePath() != null) {
			throw new IllegalArgumentException(PREFIX + ".defaults.circuit-breaker.probe-path is not allowed: a probe "
					+ "path belongs to one service under " + PREFIX + ".services");
		}
		if (defaults.circuitBreaker().probeInterval() != null) {
			positive(PREFIX + ".defaults.circuit-breaker.probe-interval", defaults.circuitBreaker().probeInterval());
		}
		if (defaults.clientRegistration() != null) {
			throw new IllegalArgumentException(PREFIX + ".defaults.client-registration is not allowed: a service token "
					+ "must only be sent to the services named under " + PREFIX + ".services");
		}
		serviceTokens.check(PREFIX + ".service-tokens");
		ServicePolicy base = defaults.applyTo(ServicePolicy.defaults(), PREFIX + ".defaults");
		Map<URI, String> seen = new LinkedHashMap<>();
		services.forEach((name, service) -> {
			String key = PREFIX + ".services." + name;
			service.applyTo(base, key);
			URI url = checkUrl(key + ".url", service.url());
			checkProbe(key + ".circuit-breaker", service.circuitBreaker(), url);
			if (url != null) {
				String other = seen.putIfAbsent(url, name);
				if (other != null) {
					throw new IllegalArgumentException(key + ".url " + url + " is already the URL of service '" + other
							+ "' (" + PREFIX + ".services." + other + ".url)");
				}
			}
		});
	}

	/**
	 * Returns the policy of services that are not configured.
	 * @return the built-in defaults overridden by {@code tis.resilience.defaults}
	 */
	public ServicePolicy defaultPolicy() {
		return this.defaults.applyTo(ServicePolicy.defaults(), PREFIX + ".defaults");
	}

	/**
	 * Returns the effective policy of every configured service.
	 * @return the policies by service name, in configuration order
	 */
	public Map<String, ServicePolicy> servicePolicies() {
		ServicePolicy base = defaultPolicy();
		Map<String, ServicePolicy> policies = new LinkedHashMap<>();
		this.services.forEach((name, service) -> policies.put(name, service.applyTo(base, PREFIX + ".services." + name)));
		return policies;
	}

	private static final Duration DEFAULT_PROBE_INTERVAL = Duration.ofMillis(500);

	/**
	 * Returns the probe of every configured service that has a {@code circuit-breaker.probe-path}.
	 * @return the probes by service name
	 * @since 0.3.0
	 */
	public Map<String, BreakerProbe> breakerProbes() {
		Duration defaultInterval = or(this.defaults.circuitBreaker().probeInterval(), DEFAULT_PROBE_INTERVAL);
		Map<String, BreakerProbe> probes = new LinkedHashMap<>();
		this.services.forEach((name, service) -> {
			String path = service.circuitBreaker().probePath();
			URI url = checkUrl(PREFIX + ".services." + name + ".url", service.url());
			if (path != null && url != null) {
				String base = url.toString();
				URI probe = URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path);
				probes.put(name, new BreakerProbe(probe, or(service.circuitBreaker().probeInterval(), defaultInterval)));
			}
		});
		return probes;
	}

	private static void checkProbe(String key, CircuitBreakerProperties breaker, @Nullable URI url) {
		String path = breaker.probePath();
		if (breaker.probeInterval() != null) {
			positive(key + ".probe-interval", breaker.probeInterval());
		}
		if (path == null) {
			return;
		}
		if (url == null) {
			throw new IllegalArgumentException(key + ".probe-path needs the service's url, which is not set");
		}
		if (!path.startsWith("/") || path.contains("?") || path.contains("#")) {
			throw new IllegalArgumentException(key + ".probe-path must be a path starting with / but was '" + path + "'");
		}
		try {
			URI.create(url + path);
		}
		catch (IllegalArgumentException ex) {
			throw new IllegalArgumentException(key + ".probe-path is not a valid path: '" + path + "'");
		}
	}

	private static void positive(String key, Duration value) {
		if (value.isNegative() || value.isZero()) {
			throw new IllegalArgumentException(key + " must be positive but was " + value);
		}
	}

	/**
	 * What an open breaker asks to learn, before its wait is over, that its service answers again.
	 *
	 * @param uri the URL asked (GET, no credentials)
	 * @param interval how often it is asked while the breaker is open
	 * @since 0.3.0
	 */
	public record BreakerProbe(URI uri, Duration interval) {
	}

	/**
	 * Returns the services marked {@code critical}.
	 * @return their names
	 */
	public Set<String> criticalServices() {
		return servicesWhere(ServiceProperties::critical);
	}

	/**
	 * Returns the services whose {@code no-store} responses are kept for stale-if-error.
	 * @return their names
	 */
	public Set<String> servicesIgnoringNoStore() {
		return servicesWhere(ServiceProperties::staleIfErrorIgnoresNoStore);
	}

	/** The services for which a flag is true: set on the service, else under {@code defaults}. */
	private Set<String> servicesWhere(Function<ServiceProperties, @Nullable Boolean> flag) {
		Set<String> names = new LinkedHashSet<>();
		boolean byDefault = Boolean.TRUE.equals(flag.apply(this.defaults));
		this.services.forEach((name, service) -> {
			Boolean value = flag.apply(service);
			if ((value != null) ? value : byDefault) {
				names.add(name);
			}
		});
		return names;
	}

	/**
	 * Returns the URL of every configured service that has one.
	 * @return the URLs by service name
	 */
	public Map<String, URI> serviceUrls() {
		Map<String, URI> urls = new LinkedHashMap<>();
		this.services.forEach((name, service) -> {
			URI url = checkUrl(PREFIX + ".services." + name + ".url", service.url());
			if (url != null) {
				urls.put(name, url);
			}
		});
		return urls;
	}

	private static @Nullable URI checkUrl(String key, @Nullable String value) {
		if (value == null) {
			return null;
		}
		URI url;
		try {
			url = URI.create(value.trim());
		}
		catch (IllegalArgumentException ex) {
			// Not chained: Boot's report shows the innermost message, which must name the key.
			throw new IllegalArgumentException(key + " is not a valid URL: '" + value + "' (" + ex.getMessage() + ")");
		}
		String scheme = (url.getScheme() != null) ? url.getScheme().toLowerCase(Locale.ROOT) : "";
		if (!scheme.equals("http") && !scheme.equals("https") || url.getHost() == null) {
			throw new IllegalArgumentException(key + " must be an absolute http or https URL with a host but was " + value);
		}
		return url;
	}

	/**
	 * What one service sets (or, under {@code defaults}, what every service inherits). A value left
	 * out is inherited.
	 *
	 * @param url Outbound requests whose URL starts with this one belong to this service.
	 * @param connectTimeout How long to wait for a connection (for WebClient, on a Reactor Netty connector that
	 * Boot built).
	 * @param responseTimeout Deadline for one attempt of the whole exchange, response body included.
	 * @param circuitBreaker Circuit breaker settings.
	 * @param bulkhead Bulkhead settings.
	 * @param retry Retry settings.
	 * @param staleIfError How stale a GET response may be when it is served because the service failed.
	 * @param critical Whether the application cannot serve at all without this service: its open
	 * breaker turns the tisResilience health contributor DOWN (put that contributor in the readiness
	 * group to act on it).
	 * @param clientRegistration Client-credentials registration (spring.security.oauth2.client.registration.&lt;id&gt;)
	 * whose token is sent as a bearer token to this service.
	 * @param staleIfErrorIgnoresNoStore Whether responses marked Cache-Control: no-store are kept for
	 * stale-if-error all the same (per caller, in memory), for services whose no-store is a framework
	 * default, such as Spring Security's, rather than a decision about the data.
	 * @param outlierEjection When one instance of a load-balanced service is taken out of rotation. Since 0.3.0.
	 * @since 0.1.0
	 */
	public record ServiceProperties(@Nullable String url, @Nullable Duration connectTimeout,
			@Nullable Duration responseTimeout, @DefaultValue CircuitBreakerProperties circuitBreaker,
			@DefaultValue BulkheadProperties bulkhead, @DefaultValue RetryProperties retry,
			@Nullable Duration staleIfError, @Nullable Boolean critical, @Nullable String clientRegistration,
			@Nullable Boolean staleIfErrorIgnoresNoStore, @DefaultValue OutlierEjectionProperties outlierEjection) {

		ServicePolicy applyTo(ServicePolicy base, String prefix) {
			try {
				return new ServicePolicy(or(this.connectTimeout, base.connectTimeout()),
						or(this.responseTimeout, base.responseTimeout()), this.circuitBreaker.applyTo(base.circuitBreaker()),
						this.bulkhead.applyTo(base.bulkhead()), this.retry.applyTo(base.retry()),
						or(this.staleIfError, base.staleIfError()), this.outlierEjection.applyTo(base.outlierEjection()));
			}
			catch (IllegalArgumentException | NullPointerException ex) {
				// The key-naming message is all a user needs; the core exception would only repeat it.
				throw new IllegalArgumentException(prefix + "." + ex.getMessage());
			}
		}

	}

	/**
	 * Circuit breaker settings of a service.
	 *
	 * @param failureRateThreshold Percentage of failed calls (over 0, at most 100) that opens the breaker.
	 * @param slowCallDurationThreshold Calls slower than this count as slow.
	 * @param slowCallRateThreshold Percentage of slow calls (over 0, at most 100) that opens the breaker.
	 * @param slidingWindowSize Number of most recent calls the rates are computed over.
	 * @param minimumNumberOfCalls Calls needed in the window before the rates are evaluated.
	 * @param waitDurationInOpenState How long the breaker stays open before trial calls are let through.
	 * @param permittedCallsInHalfOpenState Trial calls let through while half-open.
	 * @param probePath Path, under the service's url, that is asked (GET, no credentials) every probe-interval
	 * while the breaker is open; the first answer that is not a failure (any status but 5xx, 408 and 429)
	 * turns the breaker half-open at once, instead of after the whole wait. None when not set. Only under
	 * services.&lt;name&gt;. Since 0.3.0.
	 * @param probeInterval How often an open breaker's probe-path is asked. Since 0.3.0.
	 * @since 0.1.0
	 */
	public record CircuitBreakerProperties(@Nullable Float failureRateThreshold,
			@Nullable Duration slowCallDurationThreshold, @Nullable Float slowCallRateThreshold,
			@Nullable Integer slidingWindowSize, @Nullable Integer minimumNumberOfCalls,
			@Nullable Duration waitDurationInOpenState, @Nullable Integer permittedCallsInHalfOpenState,
			@Nullable String probePath, @Nullable Duration probeInterval) {

		CircuitBreakerPolicy applyTo(CircuitBreakerPolicy base) {
			return new CircuitBreakerPolicy(or(this.failureRateThreshold, base.failureRateThreshold()),
					or(this.slowCallDurationThreshold, base.slowCallDurationThreshold()),
					or(this.slowCallRateThreshold, base.slowCallRateThreshold()),
					or(this.slidingWindowSize, base.slidingWindowSize()),
					or(this.minimumNumberOfCalls, base.minimumNumberOfCalls()),
					or(this.waitDurationInOpenState, base.waitDurationInOpenState()),
					or(this.permittedCallsInHalfOpenState, base.permittedCallsInHalfOpenState()));
		}

	}

	/**
	 * Bulkhead settings of a service.
	 *
	 * @param maxConcurrentCalls Calls to the service that may be in flight at once.
	 * @param maxWaitDuration How long a call may wait for a free slot before it is rejected.
	 * @since 0.1.0
	 */
	public record BulkheadProperties(@Nullable Integer maxConcurrentCalls, @Nullable Duration maxWaitDuration) {

		BulkheadPolicy applyTo(BulkheadPolicy base) {
			return new BulkheadPolicy(or(this.maxConcurrentCalls, base.maxConcurrentCalls()),
					or(this.maxWaitDuration, base.maxWaitDuration()));
		}

	}

	/**
	 * Retry settings of a service.
	 *
	 * @param maxAttempts Total attempts, the first included (1 disables retries).
	 * @param initialBackoff Wait before the first retry.
	 * @param multiplier Factor applied to the wait before each further retry.
	 * @param jitter Fraction (0 to 1) of each wait that is randomised.
	 * @param maxBackoff Longest wait before a retry; a Retry-After longer than this is not waited for.
	 * @param budgetRatio Retries may add at most this fraction (0 to 1) to the calls made.
	 * @param budgetMinPerSecond Retries always allowed per second, whatever the ratio.
	 * @since 0.1.0
	 */
	public record RetryProperties(@Nullable Integer maxAttempts, @Nullable Duration initialBackoff,
			@Nullable Double multiplier, @Nullable Double jitter, @Nullable Duration maxBackoff,
			@Nullable Double budgetRatio, @Nullable Integer budgetMinPerSecond) {

		RetryPolicy applyTo(RetryPolicy base) {
			return new RetryPolicy(or(this.maxAttempts, base.maxAttempts()), or(this.initialBackoff, base.initialBackoff()),
					or(this.multiplier, base.multiplier()), or(this.jitter, base.jitter()),
					or(this.maxBackoff, base.maxBackoff()), or(this.budgetRatio, base.budgetRatio()),
					or(this.budgetMinPerSecond, base.budgetMinPerSecond()));
		}

	}

	/**
	 * Outlier ejection of a load-balanced service's instances (Spring Cloud LoadBalancer). Connect failures,
	 * timeouts and server errors count against an instance.
	 *
	 * @param enabled Whether instances that keep failing are taken out of rotation.
	 * @param consecutiveFailures Failures in a row that eject an instance.
	 * @param failurePercentageThreshold Percentage (over 0, at most 100) of an instance's recent calls that, failed,
	 * eject it.
	 * @param failurePercentageRequestVolume Recent calls of an instance the failure percentage is computed over.
	 * @param baseEjectionTime How long a first ejection lasts; the n-th in a row lasts n times as long.
	 * @param maxEjectionTime Longest an ejection lasts (10% jitter is added).
	 * @param maxEjectionPercent Largest percentage (over 0, at most 100) of a service's instances ejected at once;
	 * one may always be, never the last one in rotation.
	 * @since 0.3.0
	 */
	public record OutlierEjectionProperties(@Nullable Boolean enabled, @Nullable Integer consecutiveFailures,
			@Nullable Float failurePercentageThreshold, @Nullable Integer failurePercentageRequestVolume,
			@Nullable Duration baseEjectionTime, @Nullable Duration maxEjectionTime, @Nullable Float maxEjectionPercent) {

		OutlierEjectionPolicy applyTo(OutlierEjectionPolicy base) {
			return new OutlierEjectionPolicy(or(this.enabled, base.enabled()),
					or(this.consecutiveFailures, base.consecutiveFailures()),
					or(this.failurePercentageThreshold, base.failurePercentageThreshold()),
					or(this.failurePercentageRequestVolume, base.failurePercentageRequestVolume()),
					or(this.baseEjectionTime, base.baseEjectionTime()), or(this.maxEjectionTime, base.maxEjectionTime()),
					or(this.maxEjectionPercent, base.maxEjectionPercent()));
		}

	}

	/**
	 * Memory given to the stale-if-error cache.
	 *
	 * @param maxSize Total size of the response bodies kept for stale-if-error, across all services.
	 * @param maxBodySize Largest response body kept; a larger response is passed on and not kept.
	 * @param headersNotInKey Request headers that never tell callers apart (tracing and correlation
	 * ids, which differ on every request), left out of a kept response's key; every other header, as
	 * sent, is part of it. Added to the built-in list (traceparent, tracestate, baggage, b3, the
	 * X-B3-* headers, X-Request-Id, X-Correlation-Id, X-Amzn-Trace-Id, User-Agent, Accept-Encoding,
	 * Idempotency-Key). Since 0.2.0.
	 * @since 0.1.0
	 */
	public record StaleCacheProperties(@DefaultValue("16MB") DataSize maxSize,
			@DefaultValue("256KB") DataSize maxBodySize, @Nullable List<String> headersNotInKey) {

		/**
		 * Normalizes the header names.
		 */
		public StaleCacheProperties {
			headersNotInKey = (headersNotInKey != null) ? List.copyOf(headersNotInKey) : List.of();
		}

	}

	/**
	 * Problem Details answers.
	 *
	 * @param enabled Whether a ServiceUnavailableException that reaches a controller unhandled is answered
	 * with RFC 9457 Problem Details (503, or 504 for a timeout).
	 * @since 0.1.0
	 */
	public record ProblemDetailsProperties(@DefaultValue("true") boolean enabled) {

	}

	/**
	 * JWT validation that survives an outage of the issuer.
	 *
	 * @param maxStale How long the last-known-good keys are used after the last successful fetch while
	 * the issuer is unreachable; after that, tokens are rejected.
	 * @param refreshInterval How often the keys are refreshed in the background, with 10% jitter.
	 * @param cacheFile File the last-known-good keys are kept in, so that a service restarted during an
	 * outage validates tokens at once; none when not set.
	 * @param cacheFileKey Secret that signs the cache file (HMAC-SHA256); without it the file is only
	 * checksummed, which catches corruption but not tampering.
	 * @param unknownKidCooldown Least time between two background fetches asked for by tokens with an
	 * unknown key id (about one a second while no key is trusted); the token is answered at once.
	 * @param connectTimeout How long a key set fetch waits for a connection, within read-timeout.
	 * @param readTimeout Total deadline of one key set fetch: connect, headers and the whole body, not
	 * per read.
	 * @param maxResponseSize Largest key set response accepted.
	 * @param jwkSetPath Path under the issuer URI where the key set is, when no jwk-set-uri is set
	 * (Keycloak's).
	 * @since 0.1.0
	 */
	public record JwtProperties(@DefaultValue("24h") Duration maxStale, @DefaultValue("5m") Duration refreshInterval,
			@Nullable Path cacheFile, @Nullable String cacheFileKey, @DefaultValue("30s") Duration unknownKidCooldown,
			@DefaultValue("2s") Duration connectTimeout, @DefaultValue("5s") Duration readTimeout,
			@DefaultValue("512KB") DataSize maxResponseSize,
			@DefaultValue("/protocol/openid-connect/certs") String jwkSetPath) {

		void check(String prefix) {
			positive(prefix + ".max-stale", this.maxStale);
			positive(prefix + ".refresh-interval", this.refreshInterval);
			positive(prefix + ".unknown-kid-cooldown", this.unknownKidCooldown);
			positive(prefix + ".connect-timeout", this.connectTimeout);
			positive(prefix + ".read-timeout", this.readTimeout);
			if (this.maxResponseSize.toBytes() <= 0 || this.maxResponseSize.toBytes() > Integer.MAX_VALUE) {
				throw new IllegalArgumentException(prefix + ".max-response-size must be between 1B and 2GB but was "
						+ this.maxResponseSize);
			}
			if (this.maxStale.compareTo(this.refreshInterval) < 0) {
				throw new IllegalArgumentException(prefix + ".max-stale (" + this.maxStale + ") must not be shorter than "
						+ prefix + ".refresh-interval (" + this.refreshInterval + ")");
			}
			if (this.cacheFile != null) {
				checkWritable(prefix + ".cache-file", this.cacheFile);
			}
		}

		// Checked now, not at the first key fetch: a cache file that cannot be written is a restart that
		// validates nothing during the next outage.
		private static void checkWritable(String key, Path file) {
			Path absolute = file.toAbsolutePath();
			if (java.nio.file.Files.isDirectory(absolute)) {
				throw new IllegalArgumentException(key + " must name a file but " + absolute + " is a directory");
			}
			if (java.nio.file.Files.exists(absolute)) {
				if (!java.nio.file.Files.isWritable(absolute)) {
					throw new IllegalArgumentException(key + " cannot be written: " + absolute);
				}
				return;
			}
			Path existing = absolute.getParent();
			while (existing != null && !java.nio.file.Files.exists(existing)) {
				existing = existing.getParent();
			}
			if (existing == null || !java.nio.file.Files.isDirectory(existing) || !java.nio.file.Files.isWritable(existing)) {
				throw new IllegalArgumentException(key + " cannot be written: " + absolute + " ("
						+ ((existing == null) ? "no existing parent" : existing + " is not a writable directory") + ")");
			}
		}

		private static void positive(String key, Duration value) {
			if (value.isNegative() || value.isZero()) {
				throw new IllegalArgumentException(key + " must be positive but was " + value);
			}
		}

	}

	/**
	 * When service-to-service (client-credentials) tokens are refreshed.
	 *
	 * @param refreshAt Fraction of a token's lifetime after which a new one is fetched in the
	 * background (over 0, under 1).
	 * @param minBackoff First wait before fetching again after the token endpoint failed.
	 * @param maxBackoff Longest wait between fetches while the token endpoint fails.
	 * @param fetchTimeout Total deadline of one token fetch, body included, and the longest startup waits for
	 * the first token; outbound calls never wait for a fetch.
	 * @since 0.1.0
	 */
	public record ServiceTokensProperties(@DefaultValue("0.75") double refreshAt, @DefaultValue("1s") Duration minBackoff,
			@DefaultValue("30s") Duration maxBackoff, @DefaultValue("5s") Duration fetchTimeout) {

		void check(String prefix) {
			if (!(this.refreshAt > 0 && this.refreshAt < 1)) {
				throw new IllegalArgumentException(prefix + ".refresh-at must be over 0 and under 1 but was " + this.refreshAt);
			}
			if (this.minBackoff.isNegative() || this.minBackoff.isZero() || this.maxBackoff.compareTo(this.minBackoff) < 0) {
				throw new IllegalArgumentException(prefix + ".min-backoff must be positive and at most " + prefix
						+ ".max-backoff but were " + this.minBackoff + " and " + this.maxBackoff);
			}
			if (this.fetchTimeout.isNegative() || this.fetchTimeout.isZero()) {
				throw new IllegalArgumentException(prefix + ".fetch-timeout must be positive but was " + this.fetchTimeout);
			}
		}

	}

	private static <T> T or(@Nullable T value, T fallback) {
		return (value != null) ? value : fallback;
	}

}
