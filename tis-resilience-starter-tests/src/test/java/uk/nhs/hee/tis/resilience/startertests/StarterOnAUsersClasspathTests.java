package uk.nhs.hee.tis.resilience.startertests;

import java.io.File;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.cloud.client.circuitbreaker.CircuitBreakerFactory;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.HttpServerErrorException;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The starter in a service built with Boot's BOM, Spring Cloud's BOM and nothing else of ours.
 */
@SpringBootTest(classes = TcsLikeApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class StarterOnAUsersClasspathTests {

	@RegisterExtension
	static WireMockExtension profile = WireMockExtension.newInstance()
		.options(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"))
		.build();

	@DynamicPropertySource
	static void profileService(DynamicPropertyRegistry registry) {
		registry.add("profile.base-url", () -> profile.baseUrl() + "/profile");
		registry.add("tis.resilience.services.profile.url", () -> profile.baseUrl() + "/profile");
		registry.add("tis.resilience.services.profile.response-timeout", () -> "1s");
		registry.add("tis.resilience.services.profile.retry.max-attempts", () -> "1");
	}

	@LocalServerPort
	int port;

	@Autowired
	ServiceGuardRegistry registry;

	@Autowired
	CircuitBreakerFactory<?, ?> circuitBreakerFactory;

	@Test
	void hasExactlyOneResilience4jVersionOnTheClasspath() {
		Pattern jar = Pattern.compile("(resilience4j-[a-z0-9-]+?)-(\\d+\\.\\d+\\.\\d+)\\.jar$");
		Map<String, String> versions = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
			.map((entry) -> jar.matcher(new File(entry).getName()))
			.filter(Matcher::find)
			.collect(Collectors.toMap((m) -> m.group(1), (m) -> m.group(2)));
		assertThat(versions).containsKeys("resilience4j-circuitbreaker", "resilience4j-bulkhead", "resilience4j-core");
		Set<String> distinct = new TreeSet<>(versions.values());
		assertThat(distinct).as("Resilience4j versions on the classpath: %s", versions).hasSize(1);
		assertThat(versions).doesNotContainKey("resilience4j-spring-boot3");
	}

	@Test
	void sharesTheProfileBreakerBetweenHttpAndSpringCloudCircuitBreaker() {
		assertThat(this.circuitBreakerFactory).isNotNull();
		this.registry.guard("profile").circuitBreaker().transitionToForcedOpenState();
		try {
			Object answer = this.circuitBreakerFactory.create("profile").run(() -> "called", (ex) -> "rejected");
			assertThat(answer).isEqualTo("rejected");
		}
		finally {
			this.registry.guard("profile").circuitBreaker().reset();
		}
	}

	@Test
	void keepsAnsweringWhileProfileHangs() {
		profile.stubFor(get("/profile/api/userinfo").willReturn(ok("{}").withFixedDelay(30_000)));
		RestClient client = RestClient.create("http://127.0.0.1:" + this.port);
		long start = System.nanoTime();
		assertThatExceptionOfType(HttpServerErrorException.class)
			.isThrownBy(() -> client.get().uri("/api/me").retrieve().body(String.class));
		assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
		assertThat(client.get().uri("/api/status").retrieve().body(String.class)).isEqualTo("UP");
	}

	@Test
	void logsEachConfiguredServiceAtStartup(CapturedOutput output) {
		new SpringApplicationBuilder(TcsLikeApplication.class)
			.properties("server.port=0", "profile.base-url=http://127.0.0.1:1",
					"tis.resilience.services.profile.url=http://profile:8080/profile")
			.run()
			.close();
		assertThat(output).contains("tis-resilience service=profile url=http://profile:8080/profile policy:");
	}

	@Test
	void refusesToStartWithAnInvalidPropertyAndNamesIt(CapturedOutput output) {
		assertThatException().isThrownBy(() -> new SpringApplicationBuilder(TcsLikeApplication.class)
			.properties("server.port=0", "profile.base-url=http://127.0.0.1:1",
					"tis.resilience.services.profile.circuit-breaker.failure-rate-threshold=150")
			.run());
		assertThat(output).contains("APPLICATION FAILED TO START")
			.contains("tis.resilience.services.profile.circuit-breaker.failure-rate-threshold must be a percentage");
	}

}
