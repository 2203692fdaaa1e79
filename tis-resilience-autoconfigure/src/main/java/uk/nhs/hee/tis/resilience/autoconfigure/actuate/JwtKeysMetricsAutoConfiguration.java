package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;

import uk.nhs.hee.tis.resilience.autoconfigure.jwt.JwtDecoderAutoConfiguration;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * Micrometer meters of the JWT key set: how many keys are trusted, their age, whether they are
 * stale, fetches by outcome and failure cause, and unknown key ids.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = JwtDecoderAutoConfiguration.class)
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnBean(ResilientJwkSetSource.class)
public final class JwtKeysMetricsAutoConfiguration {

	@Bean
	MeterBinder tisJwtKeysMeterBinder(ResilientJwkSetSource source) {
		return new JwtKeysMeterBinder(source);
	}

}
