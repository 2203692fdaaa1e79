package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.annotation.Fallback;
import uk.nhs.hee.tis.resilience.annotation.Resilient;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** {@code @Resilient} runs calls the starter cannot see under their service's policy. */
class ResilientTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class, FallbackAutoConfiguration.class))
		.withUserConfiguration(AdminClientConfiguration.class)
		.withPropertyValues("tis.resilience.services.keycloak-admin.retry.max-attempts=3",
				"tis.resilience.services.keycloak-admin.retry.initial-backoff=1ms",
				"tis.resilience.services.keycloak-admin.circuit-breaker.sliding-window-size=4",
				"tis.resilience.services.keycloak-admin.circuit-breaker.minimum-number-of-calls=4");

	@Test
	void retriesAnIdempotentCallThenOpensTheServicesBreaker() {
		this.runner.run((context) -> {
			KeycloakAdmin admin = context.getBean(KeycloakAdmin.class);
			for (int i = 0; i < 4; i++) {
				assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(admin::users)
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
			}
			assertThat(admin.attempts()).isEqualTo(12);
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(admin::users)
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN));
			assertThat(admin.attempts()).isEqualTo(12);
		});
	}

	@Test
	void neverRetriesACallThatIsNotDeclaredIdempotentOnceItMayHaveReachedTheService() {
		this.runner.run((context) -> {
			KeycloakAdmin admin = context.getBean(KeycloakAdmin.class);
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(admin::createUser)
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR));
			assertThat(admin.attempts()).isEqualTo(1);
		});
	}

	@Test
	void answersWithTheFallbackWhenTheBreakerIsOpen() {
		this.runner.run((context) -> {
			context.getBean(ServiceGuardRegistry.class).guard("keycloak-admin").circuitBreaker().transitionToForcedOpenState();
			KeycloakAdmin admin = context.getBean(KeycloakAdmin.class);
			assertThat(admin.usersOrNone()).isEqualTo("no users: CIRCUIT_OPEN");
			assertThat(admin.attempts()).isEqualTo(0);
		});
	}

	@Configuration(proxyBeanMethods = false)
	@Import(KeycloakAdmin.class)
	static class AdminClientConfiguration {

	}

	static class KeycloakAdmin {

		private final AtomicInteger attempts = new AtomicInteger();

		int attempts() {
			return this.attempts.get();
		}

		@Resilient(service = "keycloak-admin", idempotent = true)
		public String users() {
			this.attempts.incrementAndGet();
			throw new UncheckedIOException(new java.io.IOException("I/O error", new ConnectException("refused")));
		}

		@Resilient(service = "keycloak-admin")
		public String createUser() {
			this.attempts.incrementAndGet();
			throw new UncheckedIOException(new java.io.IOException("Connection reset"));
		}

		@Resilient(service = "keycloak-admin", idempotent = true)
		@Fallback(method = "noUsers")
		public String usersOrNone() {
			this.attempts.incrementAndGet();
			return "users";
		}

		String noUsers(ServiceUnavailableException ex) {
			return "no users: " + ex.reason();
		}

	}

}
