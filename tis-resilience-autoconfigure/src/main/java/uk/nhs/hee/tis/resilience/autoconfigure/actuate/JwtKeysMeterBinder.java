package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * The JWT key set's meters. Every name and tag is listed in {@link #METERS}; docs/observability.md
 * is checked against that list.
 */
final class JwtKeysMeterBinder implements MeterBinder {

	/** Every meter this binder registers: name, then its tags. */
	static final List<String> METERS = List.of("tis.resilience.jwt.keys", "tis.resilience.jwt.keys.age",
			"tis.resilience.jwt.keys.stale", "tis.resilience.jwt.fetches{outcome=success|failure}",
			"tis.resilience.jwt.fetch.failures{cause=timeout|connect|http_status|malformed|no_usable_key|too_large|other}",
			"tis.resilience.jwt.unknown.kid{result=fetched|rate_limited}");

	private static final List<String> CAUSES = List.of("timeout", "connect", "http_status", "malformed",
			"no_usable_key", "too_large", "other");

	private final ResilientJwkSetSource source;

	JwtKeysMeterBinder(ResilientJwkSetSource source) {
		this.source = source;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		Gauge.builder("tis.resilience.jwt.keys", this.source, (source) -> source.status().keys())
			.description("Signing keys trusted now (0: no token can be validated)")
			.register(registry);
		Gauge.builder("tis.resilience.jwt.keys.age", this.source, JwtKeysMeterBinder::ageSeconds)
			.description("Seconds since the keys in use were fetched from the issuer")
			.baseUnit("seconds")
			.register(registry);
		Gauge.builder("tis.resilience.jwt.keys.stale", this.source, (source) -> source.status().stale() ? 1 : 0)
			.description("1 while the keys are older than two refresh intervals")
			.register(registry);
		FunctionCounter
			.builder("tis.resilience.jwt.fetches", this.source,
					(source) -> source.status().fetches() - source.status().failedFetches())
			.tag("outcome", "success")
			.description("Key set fetches")
			.register(registry);
		FunctionCounter.builder("tis.resilience.jwt.fetches", this.source, (source) -> source.status().failedFetches())
			.tag("outcome", "failure")
			.description("Key set fetches")
			.register(registry);
		for (String cause : CAUSES) {
			FunctionCounter
				.builder("tis.resilience.jwt.fetch.failures", this.source,
						(source) -> source.status().failuresByCause().getOrDefault(cause, 0L))
				.tag("cause", cause)
				.description("Failed key set fetches by cause")
				.register(registry);
		}
		FunctionCounter
			.builder("tis.resilience.jwt.unknown.kid", this.source, (source) -> source.status().unknownKidFetches())
			.tag("result", "fetched")
			.description("Tokens with an unknown key id")
			.register(registry);
		FunctionCounter
			.builder("tis.resilience.jwt.unknown.kid", this.source,
					(source) -> source.status().rateLimitedUnknownKids())
			.tag("result", "rate_limited")
			.description("Tokens with an unknown key id")
			.register(registry);
	}

	private static double ageSeconds(ResilientJwkSetSource source) {
		Instant fetchedAt = source.status().fetchedAt();
		return (fetchedAt != null) ? Duration.between(fetchedAt, Instant.now()).toMillis() / 1000.0 : Double.NaN;
	}

}
