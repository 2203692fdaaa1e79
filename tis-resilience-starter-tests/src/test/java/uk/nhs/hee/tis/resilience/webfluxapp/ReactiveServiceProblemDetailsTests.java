package uk.nhs.hee.tis.resilience.webfluxapp;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A WebFlux service on Reactor Netty whose WebClient calls to Profile fail and reach the web layer
 * unhandled, from an annotated controller and from a functional route: with the starter its users get
 * RFC 9457 Problem Details (503, or 504 at the deadline), naming the service and nothing of the
 * downstream's answer; without it ({@code tis.resilience.enabled=false}), what plain Boot answers. The
 * same inputs go to both, so nothing plain Boot enforces is lost: neither leaks the downstream's body.
 */
class ReactiveServiceProblemDetailsTests {

	private static final String DOWNSTREAM_DETAIL = "db-password=hunter2 at profile-7f9c";

	@RegisterExtension
	static WireMockExtension profile = WireMockExtension.newInstance()
		.options(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"))
		.build();

	private static ConfigurableApplicationContext withStarter;

	private static ConfigurableApplicationContext plainBoot;

	private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

	@BeforeAll
	static void startBoth() {
		withStarter = start("--tis.resilience.enabled=true");
		plainBoot = start("--tis.resilience.enabled=false");
	}

	@AfterAll
	static void stopBoth() {
		withStarter.close();
		plainBoot.close();
	}

	@BeforeEach
	void closeBreaker() {
		withStarter.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().reset();
	}

	private static ConfigurableApplicationContext start(String switchArgument) {
		String url = "http://127.0.0.1:" + profile.getPort() + "/profile";
		return new SpringApplicationBuilder(ReactiveTraineeApplication.class).web(WebApplicationType.REACTIVE)
			.run("--server.port=0", "--server.address=127.0.0.1", "--spring.main.banner-mode=off",
					"--profile.base-url=" + url, "--tis.resilience.services.profile.url=" + url,
					"--tis.resilience.services.profile.response-timeout=1s",
					"--tis.resilience.services.profile.retry.max-attempts=1", switchArgument);
	}

	private HttpResponse<String> call(ConfigurableApplicationContext app, String path) throws Exception {
		int port = ((WebServerApplicationContext) app).getWebServer().getPort();
		HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
			.timeout(Duration.ofSeconds(10))
			.GET()
			.build();
		return this.http.send(request, HttpResponse.BodyHandlers.ofString());
	}

	@ParameterizedTest
	@ValueSource(strings = { "/api/me", "/fn/me" })
	void answersA503ProblemForAFailingProfileWhereBootAnswersA500AndNeitherLeaksTheDownstreamsBody(String path)
			throws Exception {
		profile.stubFor(get("/profile/api/userinfo")
			.willReturn(aResponse().withStatus(503).withHeader("Retry-After", "7").withBody(DOWNSTREAM_DETAIL)));
		HttpResponse<String> protectedAnswer = call(withStarter, path);
		assertThat(protectedAnswer.statusCode()).isEqualTo(503);
		assertThat(protectedAnswer.headers().firstValue("Content-Type")).hasValueSatisfying(
				(type) -> assertThat(type).startsWith("application/problem+json"));
		assertThat(protectedAnswer.headers().firstValue("Retry-After")).hasValue("7");
		assertThat(protectedAnswer.body()).contains("\"service\":\"profile\"").doesNotContain(DOWNSTREAM_DETAIL);
		HttpResponse<String> plainAnswer = call(plainBoot, path);
		assertThat(plainAnswer.statusCode()).isEqualTo(500);
		assertThat(plainAnswer.body()).doesNotContain(DOWNSTREAM_DETAIL);
	}

	@ParameterizedTest
	@ValueSource(strings = { "/api/me", "/fn/me" })
	void answersA504ProblemAtTheDeadlineForAProfileThatNeverAnswers(String path) throws Exception {
		profile.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(8_000)));
		long started = System.nanoTime();
		HttpResponse<String> answer = call(withStarter, path);
		assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
		assertThat(answer.statusCode()).isEqualTo(504);
		assertThat(answer.body()).contains("\"reason\":\"TIMEOUT\"");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/api/me", "/fn/me" })
	void answersA503ProblemWithRetryAfterWhileTheBreakerIsOpenWithoutCallingProfile(String path) throws Exception {
		profile.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		withStarter.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToOpenState();
		HttpResponse<String> answer = call(withStarter, path);
		assertThat(answer.statusCode()).isEqualTo(503);
		assertThat(answer.headers().firstValue("Retry-After")).isPresent();
		assertThat(answer.body()).contains("\"reason\":\"CIRCUIT_OPEN\"");
		profile.verify(0, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
	}

}
