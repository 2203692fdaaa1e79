package uk.nhs.hee.tis.resilience.jwt;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * How a {@link ResilientJwkSetSource} fetches, keeps and trusts keys. Immutable: change it with the
 * {@code with…} copies.
 *
 * @param jwkSetUri where the key set is fetched from
 * @param issuer the issuer the keys belong to; binds the cache file to it
 * @param refreshInterval how often the keys are refreshed in the background (with 10% jitter)
 * @param maxStale how long the last-known-good keys are used after the last successful fetch while
 * the issuer is unreachable
 * @param unknownKidCooldown least time between two fetches caused by tokens with an unknown key id
 * @param connectTimeout how long a fetch waits for a connection (within {@code readTimeout})
 * @param readTimeout the total deadline of one fetch: connecting, the headers and the whole body
 * (a body still arriving at the deadline is cut and the fetch fails as a {@code timeout}); since
 * 0.2.0 a total, not a per-read, timeout
 * @param maxResponseSize largest key set response accepted, in bytes
 * @param algorithms signature algorithms accepted (JWS names, such as RS256)
 * @param cacheFile where the last-known-good keys are persisted, or {@code null} for none
 * @param cacheFileKey secret that signs the cache file (HMAC-SHA256), or {@code null} to only
 * checksum it
 * @since 0.1.0
 */
public record JwkSetSettings(URI jwkSetUri, @Nullable String issuer, Duration refreshInterval, Duration maxStale,
		Duration unknownKidCooldown, Duration connectTimeout, Duration readTimeout, int maxResponseSize,
		Set<String> algorithms, @Nullable Path cacheFile, byte @Nullable [] cacheFileKey) {

	/**
	 * Checks every value.
	 * @throws IllegalArgumentException naming the setting that is not valid
	 */
	public JwkSetSettings {
		Objects.requireNonNull(jwkSetUri, "jwk-set-uri");
		positive("refresh-interval", refreshInterval);
		positive("max-stale", maxStale);
		positive("unknown-kid-cooldown", unknownKidCooldown);
		positive("connect-timeout", connectTimeout);
		positive("read-timeout", readTimeout);
		if (maxResponseSize <= 0) {
			throw new IllegalArgumentException("max-response-size must be positive but was " + maxResponseSize);
		}
		algorithms = Set.copyOf(algorithms);
		if (algorithms.isEmpty()) {
			throw new IllegalArgumentException("algorithms must name at least one signature algorithm");
		}
	}

	/**
	 * Returns settings with the defaults: refresh every 5 minutes, keys usable 24 hours after the last
	 * successful fetch, one unknown-kid fetch per 30 seconds, 2 seconds to connect, 5 seconds for a
	 * whole fetch, responses up to 512 KiB, RS256 only, no cache file.
	 * @param jwkSetUri where the key set is fetched from
	 * @param issuer the issuer, or {@code null}
	 * @return the settings
	 */
	public static JwkSetSettings defaults(URI jwkSetUri, @Nullable String issuer) {
		return new JwkSetSettings(jwkSetUri, issuer, Duration.ofMinutes(5), Duration.ofHours(24),
				Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(5), 512 * 1024, Set.of("RS256"), null,
				null);
	}

	/**
	 * Returns a copy with the given refresh interval.
	 * @param refreshInterval how often the keys are refreshed
	 * @return the new settings
	 */
	public JwkSetSettings withRefreshInterval(Duration refreshInterval) {
		return new JwkSetSettings(this.jwkSetUri, this.issuer, refreshInterval, this.maxStale, this.unknownKidCooldown,
				this.connectTimeout, this.readTimeout, this.maxResponseSize, this.algorithms, this.cacheFile,
				this.cacheFileKey);
	}

	/**
	 * Returns a copy with the given maximum staleness.
	 * @param maxStale how long last-known-good keys are used after the last successful fetch
	 * @return the new settings
	 */
	public JwkSetSettings withMaxStale(Duration maxStale) {
		return new JwkSetSettings(this.jwkSetUri, this.issuer, this.refreshInterval, maxStale, this.unknownKidCooldown,
				this.connectTimeout, this.readTimeout, this.maxResponseSize, this.algorithms, this.cacheFile,
				this.cacheFileKey);
	}

	/**
	 * Returns a copy with the given unknown-kid cooldown.
	 * @param unknownKidCooldown least time between two fetches caused by unknown key ids
	 * @return the new settings
	 */
	public JwkSetSettings withUnknownKidCooldown(Duration unknownKidCooldown) {
		return new JwkSetSettings(this.jwkSetUri, this.issuer, this.refreshInterval, this.maxStale, unknownKidCooldown,
				this.connectTimeout, this.readTimeout, this.maxResponseSize, this.algorithms, this.cacheFile,
				this.cacheFileKey);
	}

	/**
	 * Returns a copy with the given fetch timeouts.
	 * @param connectTimeout how long a fetch waits for a connection (within {@code readTimeout})
	 * @param readTimeout the total deadline of one fetch: connecting, the headers and the whole body
	 * @return the new settings
	 */
	public JwkSetSettings withTimeouts(Duration connectTimeout, Duration readTimeout) {
		return new JwkSetSettings(this.jwkSetUri, this.issuer, this.refreshInterval, this.maxStale,
				this.unknownKidCooldown, connectTimeout, readTimeout, this.maxResponseSize, this.algorithms,
				this.cacheFile, this.cacheFileKey);
	}

	/**
	 * Returns a copy with the given response size limit.
	 * @param maxResponseSize largest key set response accepted, in bytes
	 * @return the new settings
	 */
	public JwkSetSettings withMaxResponseSize(int maxResponseSize) {
		return new JwkSetSettings(this.jwkSetUri, this.issuer, this.refreshInterval, this.maxStale,
				this.unknownKidCooldown, this.connectTimeout, this.readTimeout, maxResponseSize, this.algorithms,
				this.cacheFile, this.cacheFileKey);
	}

	/**
	 * Returns a copy with the given accepted algorithms.
	 * @param algorithms signature algorithms accepted
	 * @return the new settings
	 */
	public JwkSetSettings withAlgorithms(Set<String> algorithms) {
		return new JwkSetSettings(this.jwkSetUri, this.issuer, this.refreshInterval, this.maxStale,
				this.unknownKidCooldown, this.connectTimeout, this.readTimeout, this.maxResponseSize, algorithms,
				this.cacheFile, this.cacheFileKey);
	}

	/**
	 * Returns a copy with the given cache file.
	 * @param cacheFile where the keys are persisted, or {@code null}
	 * @param cacheFileKey secret that signs the file, or {@code null}
	 * @return the new settings
	 */
	public JwkSetSettings withCacheFile(@Nullable Path cacheFile, byte @Nullable [] cacheFileKey) {
		return new JwkSetSettings(this.jwkSetUri, this.issuer, this.refreshInterval, this.maxStale,
				this.unknownKidCooldown, this.connectTimeout, this.readTimeout, this.maxResponseSize, this.algorithms,
				cacheFile, cacheFileKey);
	}

	private static void positive(String key, Duration value) {
		Objects.requireNonNull(value, key);
		if (value.isNegative() || value.isZero()) {
			throw new IllegalArgumentException(key + " must be positive but was " + value);
		}
	}

}
