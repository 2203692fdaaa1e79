package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

import uk.nhs.hee.tis.resilience.autoconfigure.jwt.JwtDecoderAutoConfiguration;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * The {@code jwtKeys} health contributor: UP while signing keys are trusted (degraded while stale),
 * DOWN only when none is. Not in the readiness or liveness groups unless you put it there.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = JwtDecoderAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(ResilientJwkSetSource.class)
public final class JwtKeysHealthAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(name = "jwtKeysHealthIndicator")
	HealthIndicator jwtKeysHealthIndicator(ResilientJwkSetSource source) {
		return new JwtKeysHealthIndicator(source);
	}

}
