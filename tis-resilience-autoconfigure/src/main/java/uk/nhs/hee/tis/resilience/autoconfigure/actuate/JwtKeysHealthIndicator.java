package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * The freshness of the JWT signing keys: UP while keys are trusted (with {@code degraded: true}
 * while they are stale because the issuer is unreachable), DOWN only when no key is trusted at all,
 * when no token can be validated.
 */
final class JwtKeysHealthIndicator extends AbstractHealthIndicator {

	private final ResilientJwkSetSource source;

	JwtKeysHealthIndicator(ResilientJwkSetSource source) {
		super("JWT key set health check failed");
		this.source = source;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		ResilientJwkSetSource.Status status = this.source.status();
		if (status.keys() == 0) {
			builder.down();
		}
		else {
			builder.up();
		}
		builder.withDetail("keys", status.keys())
			.withDetail("degraded", status.keys() > 0 && status.stale())
			.withDetail("stale", status.stale());
		if (status.fetchedAt() != null) {
			builder.withDetail("fetchedAt", status.fetchedAt().toString());
		}
		if (status.lastFailure() != null) {
			builder.withDetail("lastFailure", status.lastFailure());
		}
	}

}
