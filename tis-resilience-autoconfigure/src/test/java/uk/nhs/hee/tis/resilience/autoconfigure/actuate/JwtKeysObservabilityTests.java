package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.jwt.JwtDecoderAutoConfiguration;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Health, meters and the endpoint of the JWT key set, against a JWKS server on loopback. */
class JwtKeysObservabilityTests {

	private static final String CERTS = "/realms/tis/protocol/openid-connect/certs";

	@RegisterExtension
	static WireMockExtension keycloak = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				JwtDecoderAutoConfiguration.class, JwtKeysHealthAutoConfiguration.class,
				JwtKeysMetricsAutoConfiguration.class, JwksEndpointAutoConfiguration.class))
		.withPropertyValues("spring.security.oauth2.resourceserver.jwt.issuer-uri=" + keycloak.baseUrl() + "/realms/tis",
				"management.endpoints.web.exposure.include=jwks");

	private static void serveKeys() throws Exception {
		keycloak.stubFor(get(CERTS).willReturn(
				okJson(new JWKSet(new RSAKeyGenerator(2048).keyID("k1").generate().toPublicJWK()).toString())));
	}

	@Test
	void reportsUpWithTheKeysThenDownWhenNoKeyIsTrusted() throws Exception {
		serveKeys();
		this.runner.run((context) -> {
			ResilientJwkSetSource source = context.getBean(ResilientJwkSetSource.class);
			await().atMost(Duration.ofSeconds(5)).until(() -> source.status().keys() == 1);
			HealthIndicator health = context.getBean("jwtKeysHealthIndicator", HealthIndicator.class);
			assertThat(health.health().getStatus()).isEqualTo(Status.UP);
			assertThat(health.health().getDetails()).containsEntry("keys", 1).containsEntry("degraded", false);
		});
		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			HealthIndicator health = context.getBean("jwtKeysHealthIndicator", HealthIndicator.class);
			await().atMost(Duration.ofSeconds(5))
				.until(() -> context.getBean(ResilientJwkSetSource.class).status().lastFailure() != null);
			assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
		});
	}

	@Test
	void countsFetchesByOutcomeAndFailuresByCause() throws Exception {
		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			MeterRegistry registry = new SimpleMeterRegistry();
			context.getBeansOfType(MeterBinder.class).values().forEach((binder) -> binder.bindTo(registry));
			ResilientJwkSetSource source = context.getBean(ResilientJwkSetSource.class);
			await().atMost(Duration.ofSeconds(5)).until(() -> source.status().failedFetches() >= 1);
			assertThat(registry.get("tis.resilience.jwt.fetches").tag("outcome", "failure").functionCounter().count())
				.isGreaterThanOrEqualTo(1);
			assertThat(registry.get("tis.resilience.jwt.fetch.failures").tag("cause", "http_status")
				.functionCounter()
				.count()).isGreaterThanOrEqualTo(1);
			assertThat(registry.get("tis.resilience.jwt.keys").gauge().value()).isZero();
			serveKeys();
			JwksEndpoint endpoint = context.getBean(JwksEndpoint.class);
			assertThat(endpoint.refresh().keys()).isEqualTo(1);
			assertThat(registry.get("tis.resilience.jwt.keys").gauge().value()).isEqualTo(1);
			assertThat(registry.get("tis.resilience.jwt.fetches").tag("outcome", "success").functionCounter().count())
				.isEqualTo(1);
		});
	}

	@Test
	void documentsEveryMeter() throws Exception {
		String observability = Files.readString(Path.of("..", "docs", "observability.md"));
		for (String meter : JwtKeysMeterBinder.METERS) {
			assertThat(observability).as("docs/observability.md lists %s", meter).contains("`" + meter + "`");
		}
	}

	@Test
	void startsWithoutActuatorOrMicrometer() throws Exception {
		serveKeys();
		this.runner
			.withClassLoader(new FilteredClassLoader(HealthIndicator.class, MeterBinder.class,
					org.springframework.boot.actuate.endpoint.annotation.Endpoint.class))
			.run((context) -> assertThat(context).hasNotFailed()
				.hasSingleBean(ResilientJwkSetSource.class)
				.doesNotHaveBean(JwksEndpoint.class));
	}

}
