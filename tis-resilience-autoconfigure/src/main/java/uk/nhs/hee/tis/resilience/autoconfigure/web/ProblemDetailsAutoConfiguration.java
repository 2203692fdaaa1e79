package uk.nhs.hee.tis.resilience.autoconfigure.web;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.ProblemDetail;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;

/**
 * Answers end users with RFC 9457 Problem Details when a downstream failure reaches a Spring MVC or
 * WebFlux controller unhandled. Turn it off with {@code tis.resilience.problem-details.enabled=false},
 * or handle {@code ServiceUnavailableException} yourself: your handler wins.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class)
@ConditionalOnWebApplication
@ConditionalOnClass(ProblemDetail.class)
@ConditionalOnSwitch({ "tis.resilience.enabled", "tis.resilience.problem-details.enabled" })
public final class ProblemDetailsAutoConfiguration {

	@Bean
	ServiceUnavailableProblemHandler tisServiceUnavailableProblemHandler() {
		return new ServiceUnavailableProblemHandler();
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(name = "org.springframework.web.reactive.function.client.WebClientResponseException")
	static class WebClientConfiguration {

		@Bean
		WebClientFailureProblemHandler tisWebClientFailureProblemHandler() {
			return new WebClientFailureProblemHandler();
		}

	}

}
